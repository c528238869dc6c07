import { Controller, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { OperatorAuth } from '../auth/auth.decorators';
import type { ListObject } from '../http/pagination';
import {
  DeadLetterDto,
  DeadLetterListDto,
  LedgerCheckDto,
  ListDeadLettersQuery,
  TaskDto,
} from './operations.dto';
import { OperationsService } from './operations.service';

@ApiTags('admin')
@OperatorAuth()
@Controller('v1/admin')
export class OperationsController {
  constructor(private readonly operations: OperationsService) {}

  @Get('tasks/:id')
  @ApiOperation({ summary: "A task's state and result (PENDING when nothing is recorded)" })
  @ApiOkResponse({ type: TaskDto })
  task(@Param('id') id: string): Promise<TaskDto> {
    return this.operations.task(id);
  }

  @Get('dead-letters')
  @ApiOperation({ summary: 'Dead letters of every work queue (or one), oldest first' })
  @ApiOkResponse({ type: DeadLetterListDto })
  deadLetters(@Query() query: ListDeadLettersQuery): Promise<ListObject<DeadLetterDto>> {
    return this.operations.listDeadLetters(query);
  }

  @Post('dead-letters/:id/replay')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Publish a dead letter back to its queue as a fresh attempt' })
  @ApiOkResponse({ type: DeadLetterDto })
  replay(@Param('id') id: string): Promise<DeadLetterDto> {
    return this.operations.replayDeadLetter(id);
  }

  @Get('ledger/check')
  @ApiOperation({ summary: "The ledger's invariant report: balanced per currency, violations" })
  @ApiOkResponse({ type: LedgerCheckDto })
  ledgerCheck(): Promise<LedgerCheckDto> {
    return this.operations.ledgerCheck();
  }
}
