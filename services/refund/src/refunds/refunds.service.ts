import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  REFUND_FAILURE,
  REFUND_TASK,
  refundSettledTaskId,
  type ProcessRefundPayload,
  type RefundSettledPayload,
} from '@clearline/contracts';
import { readCommitted } from '@clearline/persistence';
import {
  PAYMENT_PROCESSOR,
  ProcessorUnavailableError,
  type PaymentProcessor,
} from '@clearline/processor';
import { enqueueTask } from '@clearline/tasks';
import type { DataSource } from 'typeorm';
import type { RefundJobRow } from './refund-job.rows';
import { RefundJobsRepository } from './refund-jobs.repository';
import { RefundLedger } from './refund-ledger';

export interface RefundAttempt {
  /** 0 on the first run, then the task's retry count. */
  attempt: number;
  /** No retry follows this one: a transient failure now ends the refund. */
  last: boolean;
}

interface Outcome {
  status: 'succeeded' | 'failed';
  failureReason: string | null;
  processorRefundId: string | null;
}

/**
 * Processes one refund: hold the money in the ledger, refund at the processor, then
 * post the hold (succeeded) or release it (failed), and tell the gateway. Every step is
 * idempotent, so the task may run again from the start after a crash or a retry.
 */
@Injectable()
export class RefundsService {
  private readonly logger = new Logger(RefundsService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(PAYMENT_PROCESSOR) private readonly processor: PaymentProcessor,
    private readonly jobs: RefundJobsRepository,
    private readonly ledger: RefundLedger,
  ) {}

  async process(request: ProcessRefundPayload, attempt: RefundAttempt): Promise<Outcome> {
    const job = await this.jobs.open(request);
    if (job.status !== 'processing') return outcomeOf(job);
    const fundedFrom = await this.ledger.hold(job);
    if (fundedFrom === null) {
      return this.finish(job, failed(REFUND_FAILURE.insufficientFunds));
    }
    if (job.funded_from !== fundedFrom) await this.jobs.recordFunding(job.refund_id, fundedFrom);
    const refunded = await this.refundAtProcessor(request, job, attempt);
    if (refunded === 'retry')
      throw new ProcessorUnavailableError(`refund ${job.refund_id}: retrying`);
    if (refunded.status === 'failed') {
      await this.ledger.release(job);
      return this.finish(job, failed(refunded.failureReason));
    }
    await this.ledger.post(job);
    return this.finish(job, {
      status: 'succeeded',
      failureReason: null,
      processorRefundId: refunded.processorRefundId,
    });
  }

  /**
   * The processor's answer; a transient failure is retried by the task layer, except on
   * the last attempt, where it becomes the refund's failure (and the hold is released).
   */
  private async refundAtProcessor(
    request: ProcessRefundPayload,
    job: RefundJobRow,
    { attempt, last }: RefundAttempt,
  ): Promise<
    | 'retry'
    | { status: 'succeeded'; processorRefundId: string }
    | { status: 'failed'; failureReason: string }
  > {
    try {
      return await this.processor.refund({
        refundId: job.refund_id,
        paymentId: job.payment_id,
        source: request.source,
        amount: BigInt(job.amount),
        currency: job.currency,
        attempt,
      });
    } catch (error) {
      if (!(error instanceof ProcessorUnavailableError)) throw error;
      this.logger.warn(`refund ${job.refund_id} attempt ${attempt}: ${error.message}`);
      if (!last) return 'retry';
      return { status: 'failed', failureReason: REFUND_FAILURE.processorUnavailable };
    }
  }

  /** Records the outcome once and, in the same transaction, sends it to the gateway. */
  private async finish(job: RefundJobRow, outcome: Outcome): Promise<Outcome> {
    await readCommitted(this.dataSource, async (manager) => {
      if (!(await this.jobs.finish(manager, job.refund_id, outcome))) return;
      const settled: RefundSettledPayload = {
        refund_id: job.refund_id,
        status: outcome.status,
        ...(outcome.failureReason ? { failure_reason: outcome.failureReason } : {}),
      };
      await enqueueTask(manager, REFUND_TASK.settled, settled, {
        id: refundSettledTaskId(job.refund_id),
      });
    });
    this.logger.log(
      `refund ${job.refund_id} ${outcome.status}${outcome.failureReason ? ` (${outcome.failureReason})` : ''}`,
    );
    return outcome;
  }
}

function failed(failureReason: string): Outcome {
  return { status: 'failed', failureReason, processorRefundId: null };
}

function outcomeOf(job: RefundJobRow): Outcome {
  return {
    status: job.status === 'succeeded' ? 'succeeded' : 'failed',
    failureReason: job.failure_reason,
    processorRefundId: job.processor_refund_id,
  };
}
