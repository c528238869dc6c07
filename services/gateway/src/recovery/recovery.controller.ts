import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { OperatorAuth } from '../auth/auth.decorators';
import { ApiCursorNotFound } from '../http/openapi';
import { toListObject, type ListObject } from '../http/pagination';
import {
  ListOperationsQuery,
  OperationDto,
  OperationListDto,
  OPERATIONS_URL,
} from './operation.dto';
import { toOperationDto } from './operation.mapper';
import { RecoveryService } from './recovery.service';

const LISTED = { url: OPERATIONS_URL, object: 'payment or refund' };

@ApiTags('admin')
@OperatorAuth()
@Controller('v1/admin')
export class RecoveryController {
  constructor(private readonly recovery: RecoveryService) {}

  @Get('operations')
  @ApiOperation({
    summary: 'Payments and refunds whose operation is still in flight, oldest first',
    description: [
      'An authorization, capture or cancel of a payment (`processing`, `capturing`,',
      '`canceling`) or a refund (`pending`) that has not ended. The sweeper resumes any',
      'older than `OPERATION_RESUME_AFTER_MS` (60 s) every 30 s, up to 10 times; one with',
      '`resumes: 10` is left for an operator.',
    ].join('\n'),
  })
  @ApiOkResponse({ type: OperationListDto })
  @ApiCursorNotFound()
  operations(@Query() query: ListOperationsQuery): Promise<ListObject<OperationDto>> {
    return toListObject(
      LISTED,
      this.recovery.list(query.older_than, query.limit, query.starting_after ?? null),
      toOperationDto,
    );
  }
}
