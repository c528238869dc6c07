import { Injectable } from '@nestjs/common';
import { refundSettledTaskId } from '@clearline/contracts';
import { TaskClient } from '@clearline/tasks';
import { taskObject } from '../http/task-outcome';
import type { Plain } from '../http/wire';
import type { RefundDto } from './refund.dto';
import { toRefundDto } from './refund.mapper';
import type { RefundRow } from './refund.rows';
import { RefundsRepository } from './refunds.repository';

/**
 * Waits for a refund's outcome, for the real-time answer: the outcome task
 * (`gateway.refund_settled`, id derived from the refund) returns the refund as it
 * ended. On a timeout the refund is read as it is now, typically still `pending`.
 */
@Injectable()
export class RefundWaiter {
  constructor(
    private readonly tasks: TaskClient,
    private readonly refunds: RefundsRepository,
  ) {}

  async outcome(refund: RefundRow, waitMs: number): Promise<Plain<RefundDto>> {
    if (waitMs <= 0 || refund.status !== 'pending') return toRefundDto(refund);
    const ended = await taskObject<Plain<RefundDto>>(
      this.tasks,
      refundSettledTaskId(refund.id),
      waitMs,
      { object: 'refund', id: refund.id },
    );
    if (ended) return ended;
    const now = await this.refunds.find(refund.merchant_id, refund.id);
    return toRefundDto(now ?? refund);
  }
}
