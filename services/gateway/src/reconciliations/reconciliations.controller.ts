import { Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { OperatorAuth } from '../auth/auth.decorators';
import { HttpReply } from '../http/http-reply';
import type { GatewayRequest, GatewayResponse } from '../http/http-types';
import { ApiNotFound, ErrorResponseDto } from '../http/openapi';
import { ReconciliationDto, SettlementFileQuery } from './reconciliation.dto';
import { toReconciliationDto } from './reconciliation.mapper';
import type { ReconcileOutcome } from './reconciliation.model';
import { ReconciliationError, ReconciliationErrorCode } from './reconciliations.exception';
import { ReconciliationsService, type SettlementFileUpload } from './reconciliations.service';
import { SETTLEMENT_FILE_BYTES_MAX, SETTLEMENT_FILE_HEADER } from './settlement-file';

const CSV_MEDIA_TYPE = 'text/csv';
const CSV_CONTENT = { [CSV_MEDIA_TYPE]: { schema: { type: 'string' } } };
const EXCEPTIONS_HEADER =
  'line,kind,processor_reference,type,amount,currency,date,object_id,our_amount,our_currency';

/** The charsets a settlement file may declare: it is read as UTF-8 (ASCII is UTF-8). */
const CHARSETS = ['utf-8', 'utf8', 'us-ascii'];

/** The request's body as a settlement file: `text/csv` in UTF-8, else 415. */
function settlementFileUpload(request: GatewayRequest): SettlementFileUpload {
  const [mediaType = '', ...parameters] = (request.headers['content-type'] ?? '')
    .toLowerCase()
    .split(';')
    .map((part) => part.trim());
  const charset = parameters.find((p) => p.startsWith('charset='))?.slice('charset='.length);
  if (
    mediaType !== CSV_MEDIA_TYPE ||
    (charset !== undefined && !CHARSETS.includes(charset.replaceAll('"', '')))
  ) {
    throw new ReconciliationError(
      'A settlement file is sent as the body with Content-Type: text/csv (UTF-8)',
      ReconciliationErrorCode.MediaTypeUnsupported,
    );
  }
  const length = Number(request.headers['content-length']);
  return { body: request, declaredBytes: Number.isSafeInteger(length) ? length : null };
}

/** `201` with a new reconciliation, `200` with the one the same file had. */
function reconciliationReply(outcome: ReconcileOutcome): HttpReply {
  return new HttpReply(outcome.created ? 201 : 200, toReconciliationDto(outcome.reconciliation));
}

/** The response, ready for a CSV attachment written into it. */
function csvResponse(response: GatewayResponse, filename: string): GatewayResponse {
  response.setHeader('Content-Type', `${CSV_MEDIA_TYPE}; charset=utf-8`);
  // The name carries the caller's id as typed: a header takes no control or non-Latin-1
  // character (Node throws, a 500) and a quote would end the parameter, so only the
  // characters ids are made of are kept.
  const safe = filename.replace(/[^A-Za-z0-9._-]/g, '_');
  response.setHeader('Content-Disposition', `attachment; filename="${safe}"`);
  return response;
}

@ApiTags('admin')
@OperatorAuth()
@Controller('v1/admin')
export class ReconciliationsController {
  constructor(private readonly reconciliations: ReconciliationsService) {}

  @Get('sandbox/settlement_file')
  @ApiOperation({
    summary: "The sandbox processor's settlement file of a UTC day (CSV, streamed)",
    description:
      `Header \`${SETTLEMENT_FILE_HEADER}\`; one \`charge\` line per payment with a processor ` +
      'reference and a captured amount (the amount captured), one `refund` line per ' +
      'succeeded refund, of the records created that UTC day (`date` is that day). ' +
      'Currencies upper case, as processors write them.',
  })
  @ApiOkResponse({ description: 'The settlement file.', content: CSV_CONTENT })
  async settlementFile(
    @Query() query: SettlementFileQuery,
    @Res() response: GatewayResponse,
  ): Promise<void> {
    await this.reconciliations.writeSandboxSettlementFile(
      query.date,
      csvResponse(response, `settlement_${query.date}.csv`),
    );
  }

  @Post('reconciliations')
  @ApiOperation({
    summary: "Reconcile a processor's settlement file against our payments and refunds",
    description:
      `The body is the file (\`Content-Type: text/csv\`, UTF-8, at most ` +
      `${SETTLEMENT_FILE_BYTES_MAX} bytes), header \`${SETTLEMENT_FILE_HEADER}\`, read as ` +
      'it streams. A malformed line answers 400 `csv_malformed` naming its line number, ' +
      'and nothing is recorded. The same file again (same sha256) answers 200 with the ' +
      'reconciliation it had.',
  })
  @ApiConsumes(CSV_MEDIA_TYPE)
  @ApiBody({ description: 'The settlement file.', schema: { type: 'string' } })
  @ApiCreatedResponse({ type: ReconciliationDto, description: 'The file, reconciled now.' })
  @ApiOkResponse({ type: ReconciliationDto, description: 'The same file, reconciled before.' })
  @ApiResponse({
    status: 413,
    type: ErrorResponseDto,
    description: `invalid_request_error \`body_too_large\`: the file is larger than ${SETTLEMENT_FILE_BYTES_MAX} bytes.`,
  })
  @ApiResponse({
    status: 415,
    type: ErrorResponseDto,
    description: 'invalid_request_error `request_invalid`: the body is not `text/csv` in UTF-8.',
  })
  async reconcile(@Req() request: GatewayRequest): Promise<HttpReply> {
    return reconciliationReply(await this.reconciliations.reconcile(settlementFileUpload(request)));
  }

  @Get('reconciliations/:id')
  @ApiOperation({ summary: 'Retrieve a reconciliation' })
  @ApiOkResponse({ type: ReconciliationDto })
  @ApiNotFound('No such reconciliation.')
  async retrieve(@Param('id') id: string): Promise<ReconciliationDto> {
    return toReconciliationDto(await this.reconciliations.find(id));
  }

  @Get('reconciliations/:id/exceptions')
  @ApiOperation({
    summary: "A reconciliation's exceptions: every line not matched, and every record missing",
    description:
      `CSV, streamed, header \`${EXCEPTIONS_HEADER}\`: the file's lines in file order ` +
      '(`line`: the line number, the header being 1), then our records missing in the file ' +
      '(`line` empty, `date` the UTC day of our record). `amount`, `currency` as the file has ' +
      'them; `object_id`, `our_amount`, `our_currency` our record (empty for ' +
      '`missing_in_ours`). Currencies upper case.',
  })
  @ApiOkResponse({ description: 'The exceptions.', content: CSV_CONTENT })
  @ApiNotFound('No such reconciliation.')
  async exceptions(@Param('id') id: string, @Res() response: GatewayResponse): Promise<void> {
    await this.reconciliations.writeExceptions(
      id,
      csvResponse(response, `reconciliation_${id}_exceptions.csv`),
    );
  }
}
