import { Controller, Get, Param, Query, StreamableFile } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MerchantAuth, MerchantId } from '../auth/auth.decorators';
import { ApiCursorNotFound, ApiNotFound } from '../http/openapi';
import { ListQuery, pageRequest, toListObject, type ListObject } from '../http/pagination';
import type { Plain } from '../http/wire';
import { SETTLEMENTS_URL, SettlementDto, SettlementListDto } from './settlement.dto';
import { toReportFile, toSettlementDto } from './settlement.mapper';
import { SettlementsService } from './settlements.service';

const LISTED = { url: SETTLEMENTS_URL, object: 'settlement' };
const NO_SUCH_SETTLEMENT =
  'No such settlement for this merchant (another merchant’s id answers the same).';

@ApiTags('settlements')
@MerchantAuth()
@Controller('v1/settlements')
export class SettlementsController {
  constructor(private readonly settlements: SettlementsService) {}

  @Get()
  @ApiOperation({ summary: "List the merchant's settlements, newest first" })
  @ApiOkResponse({ type: SettlementListDto })
  @ApiCursorNotFound()
  list(
    @MerchantId() merchantId: string,
    @Query() query: ListQuery,
  ): Promise<ListObject<Plain<SettlementDto>>> {
    return toListObject(
      LISTED,
      this.settlements.list(merchantId, pageRequest(query)),
      toSettlementDto,
    );
  }

  @Get(':id')
  @ApiOperation({ summary: 'Retrieve a settlement' })
  @ApiOkResponse({ type: SettlementDto })
  @ApiNotFound(NO_SUCH_SETTLEMENT)
  async retrieve(
    @MerchantId() merchantId: string,
    @Param('id') id: string,
  ): Promise<Plain<SettlementDto>> {
    return toSettlementDto(await this.settlements.retrieve(merchantId, id));
  }

  @Get(':id/report')
  @ApiOperation({
    summary: "A settlement's report (CSV, streamed)",
    description:
      'Header `type,id,posted_at,amount,fee,net,currency`; one line per settled payment ' +
      'or refund in the order the ledger posted them (`posted_at` ISO 8601 UTC with ' +
      'milliseconds; a refund has fee 0 and net −amount); then ' +
      '`total,<settlement id>,,<gross − refunds>,<fees>,<net>,<currency>`.',
  })
  @ApiOkResponse({
    description: 'The report, streamed.',
    content: { 'text/csv': { schema: { type: 'string' } } },
  })
  @ApiNotFound(NO_SUCH_SETTLEMENT)
  async report(@MerchantId() merchantId: string, @Param('id') id: string): Promise<StreamableFile> {
    return toReportFile(await this.settlements.report(merchantId, id));
  }
}
