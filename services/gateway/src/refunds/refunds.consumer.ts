import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { REFUND_TASK, RefundSettledPayload, type RefundSettledResult } from '@clearline/contracts';
import { isTransientDatabaseError } from '@clearline/persistence';
import { Task } from '@clearline/tasks';
import { toRefundSettledResult } from './refund.mapper';
import { RefundRequestsService } from './refund-requests.service';
import { isTransientRefundRequestError } from './refunds.exception';

/**
 * A refund's outcome from the refund service. Applied once, guarded by the refund's
 * status; the result (`RefundSettledResult`) is what a waiting request answers with.
 * Only what is transient is retried: a transient database error, and the refund codes
 * whose outcome is `retry` (`refundRequestTaskOutcome`).
 */
@Controller()
export class RefundsConsumer {
  constructor(private readonly refunds: RefundRequestsService) {}

  @Task(REFUND_TASK.settled, {
    senders: ['refund'],
    payload: RefundSettledPayload,
    retryOn: [isTransientDatabaseError, isTransientRefundRequestError],
    retryCountMax: 5,
    retryBackoffMs: 200,
  })
  async settled(@Payload() payload: RefundSettledPayload): Promise<RefundSettledResult> {
    return toRefundSettledResult(await this.refunds.settle(payload));
  }
}
