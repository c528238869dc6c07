import { Controller, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { OperatorAuth } from '../auth/auth.decorators';
import { ApiNotFound } from '../http/openapi';
import { toListObject, type ListObject } from '../http/pagination';
import {
  DEAD_LETTERS_URL,
  DeadLetterDto,
  DeadLetterListDto,
  LedgerCheckDto,
  ListDeadLettersQuery,
  TaskDto,
} from './operations.dto';
import { toDeadLetterDto, toTaskDto } from './operations.mapper';
import { OperationsService } from './operations.service';

const LISTED = { url: DEAD_LETTERS_URL, object: 'dead letter' };

/**
 * How the tasks of one payment or refund are named, so an operator can look them up
 * from the object's id alone (`paymentTaskId`, `processRefundTaskId`,
 * `refundSettledTaskId`, the ledger steps of `PaymentLedger` and `RefundLedger`).
 */
const TASK_IDS_DESCRIPTION = [
  'The tasks of a payment or a refund have ids derived from its id, so they can be looked',
  'up from the object alone:',
  '',
  '| id | task | sent by |',
  '| --- | --- | --- |',
  '| `pay_…:authorize` | `gateway.authorize_payment` (result: what it changed on the payment) | `POST /v1/payments` |',
  '| `pay_…:capture` | `gateway.capture_payment` | `POST /v1/payments/{id}/capture` |',
  '| `pay_…:cancel` | `gateway.cancel_payment` | `POST /v1/payments/{id}/cancel` |',
  '| `pay_…:ledger:<step>:<attempt>` | `ledger.create_transfers`; step `authorize`, `capture` or `void`; attempt = the payment task’s retries, `0` first | the payment task |',
  '| `re_…:process` | `refund.process_refund` | `POST /v1/refunds` |',
  '| `re_…:ledger:hold:pending`, `re_…:ledger:hold:available` | `ledger.create_transfers`: the hold, on the pending balance first | the refund service |',
  '| `re_…:ledger:post`, `re_…:ledger:void` | `ledger.create_transfers`: the hold posted (refunded) or released (refused) | the refund service |',
  '| `re_…:settled` | `gateway.refund_settled` (the outcome, back to the gateway) | the refund service |',
  '',
  'Other tasks (webhook deliveries `gateway.deliver_webhook`, `ledger.open_merchant`,',
  '`ledger.check`) have random UUIDs: find them in the dead letters',
  '(`GET /v1/admin/dead-letters`, field `id`). An id nothing was recorded for answers',
  '`PENDING`, never 404.',
].join('\n');

const TASK_ID_EXAMPLES = {
  authorize: { summary: 'Authorize a payment', value: 'pay_3kTq9XbQ2mJx8vLrP0aZc7Ye:authorize' },
  capture: { summary: 'Capture a payment', value: 'pay_3kTq9XbQ2mJx8vLrP0aZc7Ye:capture' },
  cancel: { summary: 'Cancel a payment', value: 'pay_3kTq9XbQ2mJx8vLrP0aZc7Ye:cancel' },
  paymentLedger: {
    summary: "A payment's ledger step (first attempt)",
    value: 'pay_3kTq9XbQ2mJx8vLrP0aZc7Ye:ledger:authorize:0',
  },
  process: { summary: 'Process a refund', value: 're_8sLm2QwE5rTy7uIo9pAs1dFg:process' },
  refundHold: {
    summary: "A refund's hold in the ledger",
    value: 're_8sLm2QwE5rTy7uIo9pAs1dFg:ledger:hold:pending',
  },
  refundPost: {
    summary: "A refund's hold posted",
    value: 're_8sLm2QwE5rTy7uIo9pAs1dFg:ledger:post',
  },
  settled: {
    summary: "A refund's outcome at the gateway",
    value: 're_8sLm2QwE5rTy7uIo9pAs1dFg:settled',
  },
  random: { summary: 'Any other task', value: '0b8f1c2e-4d5a-4e6f-8a9b-1c2d3e4f5a6b' },
};

@ApiTags('admin')
@OperatorAuth()
@Controller('v1/admin')
export class OperationsController {
  constructor(private readonly operations: OperationsService) {}

  @Get('tasks/:id')
  @ApiOperation({
    summary: "A task's state and result (PENDING when nothing is recorded)",
    description: TASK_IDS_DESCRIPTION,
  })
  @ApiParam({ name: 'id', description: 'A task id (above).', examples: TASK_ID_EXAMPLES })
  @ApiOkResponse({ type: TaskDto })
  async task(@Param('id') id: string): Promise<TaskDto> {
    return toTaskDto(id, await this.operations.task(id));
  }

  @Get('dead-letters')
  @ApiOperation({ summary: 'Dead letters of every work queue (or one), oldest first' })
  @ApiOkResponse({ type: DeadLetterListDto })
  deadLetters(@Query() query: ListDeadLettersQuery): Promise<ListObject<DeadLetterDto>> {
    return toListObject(
      LISTED,
      this.operations.listDeadLetters(query.queue ?? null, query.limit),
      toDeadLetterDto,
    );
  }

  @Post('dead-letters/:id/replay')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Publish a dead letter back to its queue as a fresh attempt' })
  @ApiOkResponse({ type: DeadLetterDto })
  @ApiNotFound('No dead letter with this id in any work queue.')
  async replay(@Param('id') id: string): Promise<DeadLetterDto> {
    return toDeadLetterDto(await this.operations.replayDeadLetter(id));
  }

  @Get('ledger/check')
  @ApiOperation({ summary: "The ledger's invariant report: balanced per currency, violations" })
  @ApiOkResponse({ type: LedgerCheckDto })
  ledgerCheck(): Promise<LedgerCheckDto> {
    return this.operations.ledgerCheck();
  }
}
