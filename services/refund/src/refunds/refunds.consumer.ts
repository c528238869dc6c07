import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { ProcessRefundPayload, REFUND_TASK } from '@clearline/contracts';
import { isTransientDatabaseError } from '@clearline/persistence';
import { LedgerUnavailableError } from '@clearline/platform';
import { ProcessorUnavailableError } from '@clearline/processor';
import { Task, TaskContext } from '@clearline/tasks';
import { RefundsService } from './refunds.service';

/**
 * Transient failures (the processor or the ledger did not answer, a database hiccup)
 * are retried through the broker with backoff; the last attempt turns a processor outage into a failed
 * refund, so the hold is released and the amount is refundable again.
 */
const REFUND_RETRY = {
  retryOn: [ProcessorUnavailableError, LedgerUnavailableError, isTransientDatabaseError],
  retryCountMax: 4,
  retryBackoffMs: 100,
  retryBackoffMaxMs: 5_000,
};

@Controller()
export class RefundsConsumer {
  constructor(private readonly refunds: RefundsService) {}

  @Task(REFUND_TASK.process, { payload: ProcessRefundPayload, ...REFUND_RETRY })
  async process(
    @Payload() payload: ProcessRefundPayload,
    @Ctx() context: TaskContext,
  ): Promise<{ status: string; failure_reason: string | null }> {
    const outcome = await this.refunds.process(payload, {
      attempt: context.retries,
      last: context.isLastAttempt,
    });
    return { status: outcome.status, failure_reason: outcome.failureReason };
  }
}
