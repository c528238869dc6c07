import { Injectable } from '@nestjs/common';
import { refundSettledTaskId } from '@clearline/contracts';
import { TaskClient, TaskTimeoutError } from '@clearline/tasks';
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
    try {
      const record = await this.tasks
        .handle(refundSettledTaskId(refund.id))
        .settled({ timeoutMs: waitMs });
      if (record.state === 'SUCCESS' && isRefundObject(record.result, refund.id)) {
        return record.result;
      }
    } catch (error) {
      if (!(error instanceof TaskTimeoutError)) throw error;
    }
    const now = await this.refunds.find(refund.merchant_id, refund.id);
    return toRefundDto(now ?? refund);
  }
}

function isRefundObject(value: unknown, id: string): value is Plain<RefundDto> {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { object?: unknown }).object === 'refund' &&
    (value as { id?: unknown }).id === id
  );
}
