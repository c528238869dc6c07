import { strict as assert } from 'node:assert';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  REFUND_FAILURE,
  REFUND_TASK,
  refundSettledTaskId,
  resumedTaskId,
  type RefundSettledPayload,
} from '@clearline/contracts';
import { readCommitted } from '@clearline/persistence';
import {
  PAYMENT_PROCESSOR,
  processorIdempotencyKey,
  ProcessorUnavailableError,
  retrieveOutcome,
  type PaymentProcessor,
  type RefundRequest as ProcessorRefundRequest,
  type RefundResult,
} from '@clearline/processor';
import { enqueueTask } from '@clearline/tasks';
import type { DataSource } from 'typeorm';
import type { RefundJobRow } from './refund-job.rows';
import { RefundJobsRepository } from './refund-jobs.repository';
import { RefundLedger, type FundingAccount } from './refund-ledger';
import { endsRefund, RefundError, RefundErrorCode } from './refund.exception';

/** A refund to process, as the gateway asked for it. */
export interface RefundRequest {
  refundId: string;
  paymentId: string;
  merchantId: string;
  /** Minor units of `currency`; positive. */
  amount: bigint;
  /** ISO 4217, lower case, as on the payment. */
  currency: string;
  /** The payment's source token: the processor refunds to it. */
  source: string;
  /** 0 for the refund's first task; n when the gateway's sweeper resumes it the n-th time. */
  round: number;
}

/**
 * What processing asks of the attempt it runs in. A task's `TaskContext` is one; the
 * service never counts retries itself to know whether another attempt follows.
 */
export interface RefundAttempt {
  /** Retries before this attempt, 0 on the first: the processor is told (`attempt`). */
  readonly retries: number;
  /** Another attempt follows if this one throws `error`. */
  willRetry(error: unknown): boolean;
}

/** How a refund ended. */
export interface RefundOutcome {
  status: 'succeeded' | 'failed';
  failureReason: string | null;
  processorRefundId: string | null;
}

/** A hold taken in the ledger: where, and how to give it back. */
interface Held {
  fundedFrom: FundingAccount;
  release: () => Promise<void>;
}

/**
 * Processes one refund: hold the money in the ledger, refund at the processor, then
 * post the hold (succeeded) or release it (failed), and tell the gateway. Every step is
 * idempotent, so the task may run again from the start after a crash or a retry. What
 * an error does is its code's task outcome (`refund.exception.ts`).
 */
@Injectable()
export class RefundProcessingService {
  private readonly logger = new Logger(RefundProcessingService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(PAYMENT_PROCESSOR) private readonly processor: PaymentProcessor,
    private readonly jobs: RefundJobsRepository,
    private readonly ledger: RefundLedger,
  ) {}

  async process(request: RefundRequest, attempt: RefundAttempt): Promise<RefundOutcome> {
    const job = await this.jobs.open(request);
    if (job.status !== 'processing') {
      // A resume (the gateway's sweeper) of a refund that ended here: its outcome never
      // reached the gateway (its task dead-lettered), so it is sent again, under the
      // round's own id; the gateway applies an outcome once, guarded by the status.
      if (request.round > 0) await this.announceAgain(job, request.round);
      return outcomeOf(job);
    }
    // Where the hold is taken is recorded with the outcome: a run that stops before
    // learns it again from the ledger (the hold's task id is fixed, its answer stored).
    let fundedFrom: FundingAccount;
    try {
      fundedFrom = await this.ledger.hold(job);
    } catch (error) {
      // Nothing is held (insufficient funds), so nothing is released.
      return this.endOrThrow(error, job, attempt, null);
    }
    const held: Held = { fundedFrom, release: () => this.ledger.release(job) };
    try {
      const processorRefundId = await this.refundAtProcessor(request, job, attempt);
      await this.ledger.post(job);
      return await this.finish(
        job,
        { status: 'succeeded', failureReason: null, processorRefundId },
        fundedFrom,
      );
    } catch (error) {
      return this.endOrThrow(error, job, attempt, held);
    }
  }

  /**
   * The processor's refund id; a refusal and an outage are thrown as refund errors
   * (`ProcessorRefused`, `ProcessorUnavailable`) for `endOrThrow` to judge. The call
   * carries the refund's id as its idempotency key, so a retry never refunds twice.
   */
  private async refundAtProcessor(
    request: RefundRequest,
    job: RefundJobRow,
    attempt: RefundAttempt,
  ): Promise<string> {
    const call: ProcessorRefundRequest = {
      refundId: job.refund_id,
      paymentId: job.payment_id,
      source: request.source,
      idempotencyKey: processorIdempotencyKey('refund', job.refund_id),
      amount: BigInt(job.amount),
      currency: job.currency,
      attempt: attempt.retries,
      round: request.round,
    };
    let answer: RefundResult;
    try {
      answer = await this.processor.refund(call);
    } catch (error) {
      if (!(error instanceof ProcessorUnavailableError)) throw error;
      this.logger.warn(`refund ${job.refund_id} attempt ${attempt.retries}: ${error.message}`);
      answer = await this.askAfterLastAttempt(call, attempt, error);
    }
    if (answer.status === 'failed') {
      throw new RefundError(
        `refund ${job.refund_id} refused by the processor: ${answer.message}`,
        RefundErrorCode.ProcessorRefused,
        answer.failureReason,
      );
    }
    return answer.processorRefundId;
  }

  /**
   * An unanswered refund: retried while retries are left. On the last attempt the
   * processor is asked what became of it instead of guessing: applied → its answer;
   * nothing happened → `ProcessorUnavailable` with its reason, which ends the refund
   * failed and releases its hold; still unknown → `ProcessorUnavailable` without a
   * reason, which never ends it: the hold stays, the task is dead-lettered, the gateway's
   * refund stays `pending` and its sweeper resumes it later.
   */
  private async askAfterLastAttempt(
    call: ProcessorRefundRequest,
    attempt: RefundAttempt,
    error: ProcessorUnavailableError,
  ): Promise<RefundResult> {
    const message = `refund ${call.refundId}: ${error.message}`;
    const retried = new RefundError(
      message,
      RefundErrorCode.ProcessorUnavailable,
      REFUND_FAILURE.processorUnavailable,
    );
    if (attempt.willRetry(retried)) throw retried;
    const resolution = await retrieveOutcome(this.processor, { ...call, operation: 'refund' });
    this.logger.warn(`asked the processor about refund ${call.refundId}: ${resolution.kind}`);
    switch (resolution.kind) {
      case 'applied':
        assert(resolution.applied.operation === 'refund', 'retrieve answered for the refund');
        return resolution.applied.result;
      case 'not_applied':
        throw retried;
      case 'unknown':
        throw new RefundError(`${message} (outcome unknown)`, RefundErrorCode.ProcessorUnavailable);
    }
  }

  /**
   * Ends the refund on an error that ends it (`endsRefund`: a final answer, or a
   * transient failure with no retry to follow and a reason to fail with): its hold is
   * released, and it is recorded failed. Any other error is thrown, for the task layer
   * to retry it or dead-letter it.
   */
  private async endOrThrow(
    error: unknown,
    job: RefundJobRow,
    attempt: RefundAttempt,
    held: Held | null,
  ): Promise<RefundOutcome> {
    if (!(error instanceof RefundError) || !endsRefund(error, attempt.willRetry(error))) {
      throw error;
    }
    assert(error.failureReason !== null, 'an error that ends a refund names its reason');
    if (held) await held.release();
    return this.finish(
      job,
      { status: 'failed', failureReason: error.failureReason, processorRefundId: null },
      held?.fundedFrom ?? null,
    );
  }

  /** Sends an ended job's outcome to the gateway again (`re_…:settled:resume:<round>`). */
  private async announceAgain(job: RefundJobRow, round: number): Promise<void> {
    const id = resumedTaskId(refundSettledTaskId(job.refund_id), round);
    await readCommitted(this.dataSource, (manager) =>
      enqueueTask(manager, REFUND_TASK.settled, settledPayload(job.refund_id, outcomeOf(job)), {
        id,
      }),
    );
    this.logger.warn(`refund ${job.refund_id} had ended ${job.status}: outcome sent again (${id})`);
  }

  /**
   * Records the outcome once and, in the same statement (shared with the jobs that end at
   * the same time), its message to the gateway, published right after the commit (the
   * relay's sweep sends it if this process cannot).
   */
  private async finish(
    job: RefundJobRow,
    outcome: RefundOutcome,
    fundedFrom: FundingAccount | null,
  ): Promise<RefundOutcome> {
    await this.jobs.finish({
      refundId: job.refund_id,
      outcome,
      fundedFrom,
      announce: {
        task: REFUND_TASK.settled,
        payload: settledPayload(job.refund_id, outcome),
        options: { id: refundSettledTaskId(job.refund_id) },
      },
    });
    this.logger.log(
      `refund ${job.refund_id} ${outcome.status}${outcome.failureReason ? ` (${outcome.failureReason})` : ''}`,
    );
    return outcome;
  }
}

/** The outcome for the gateway: a failure's reason, a success's processor reference. */
export function settledPayload(refundId: string, outcome: RefundOutcome): RefundSettledPayload {
  return {
    refund_id: refundId,
    status: outcome.status,
    ...(outcome.failureReason ? { failure_reason: outcome.failureReason } : {}),
    ...(outcome.processorRefundId ? { processor_reference: outcome.processorRefundId } : {}),
  };
}

function outcomeOf(job: RefundJobRow): RefundOutcome {
  return {
    status: job.status === 'succeeded' ? 'succeeded' : 'failed',
    failureReason: job.failure_reason,
    processorRefundId: job.processor_refund_id,
  };
}
