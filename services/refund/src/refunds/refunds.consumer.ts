import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { ProcessRefundPayload, REFUND_TASK, type ProcessRefundResult } from '@clearline/contracts';
import { isTransientDatabaseError } from '@clearline/persistence';
import { Task, TaskContext, type TaskHandlerOptions } from '@clearline/tasks';
import { RefundProcessingService } from './refund-processing.service';
import { isTransientRefundError } from './refund.exception';
import { processRefundResult, refundRequestFromWire } from './refund.mapper';

/**
 * Only what is transient is retried through the broker with backoff: the refund's own
 * codes whose outcome is `retry` (the processor or the ledger did not answer, a job
 * opened concurrently) and transient database errors (a lost connection, 40001, 40P01,
 * a lock or statement timeout). Anything else is a final answer or a fault. The
 * service asks the task's context whether a retry follows: when none does, a processor
 * outage ends the refund failed, so its hold is released and the amount is refundable
 * again.
 */
export const REFUND_RETRY = {
  retryOn: [isTransientDatabaseError, isTransientRefundError],
  retryCountMax: 4,
  retryBackoffMs: 100,
  retryBackoffMaxMs: 5_000,
} as const satisfies TaskHandlerOptions;

@Controller()
export class RefundsConsumer {
  constructor(private readonly refunds: RefundProcessingService) {}

  @Task(REFUND_TASK.process, {
    senders: ['gateway'],
    payload: ProcessRefundPayload,
    ...REFUND_RETRY,
  })
  async process(
    @Payload() payload: ProcessRefundPayload,
    @Ctx() context: TaskContext,
  ): Promise<ProcessRefundResult> {
    return processRefundResult(await this.refunds.process(refundRequestFromWire(payload), context));
  }
}
