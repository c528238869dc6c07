import { Injectable } from '@nestjs/common';
import {
  isRefundSettledResult,
  refundSettledTaskId,
  type RefundSettledResult,
} from '@clearline/contracts';
import { TaskClient } from '@clearline/tasks';
import { awaitTaskResult } from '../common/task-result';
import { withSettledResult } from './refund.mapper';
import type { Refund } from './refund.model';
import { RefundsRepository } from './refunds.repository';

/**
 * Waits for a refund's outcome, for the real-time answer: the outcome task
 * (`gateway.refund_settled`, id derived from the refund) returns what it changed
 * (`RefundSettledResult`), and the refund the request wrote supplies the rest: no read.
 * On a timeout (or a result of another version) the refund is read as it is now,
 * typically still `pending`.
 */
@Injectable()
export class RefundWaiter {
  constructor(
    private readonly tasks: TaskClient,
    private readonly refunds: RefundsRepository,
  ) {}

  async outcome(refund: Refund, waitMs: number): Promise<Refund> {
    if (waitMs <= 0 || refund.status !== 'pending') return refund;
    const result = await awaitTaskResult(
      this.tasks,
      refundSettledTaskId(refund.id),
      waitMs,
      (value): value is RefundSettledResult => isRefundSettledResult(value, refund.id),
    );
    if (result) return withSettledResult(refund, result);
    return (await this.refunds.find(refund.merchantId, refund.id)) ?? refund;
  }
}
