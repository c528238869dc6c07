import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import {
  OPERATION_RESUMES_MAX,
  PAYMENT_TASK,
  paymentTaskId,
  REFUND_TASK,
  resumedTaskId,
  type CapturePaymentTaskPayload,
  type PaymentTaskPayload,
  type ProcessRefundPayload,
} from '@clearline/contracts';
import { PageCursorNotFoundError, readCommitted, type Page } from '@clearline/persistence';
import { enqueueTasks, type OutboxTask, type TaskSchedule } from '@clearline/tasks';
import { DataSource } from 'typeorm';
import type { GatewayEnvironment } from '../gateway.env';
import { processRefundTaskId } from '../refunds/refund-requests.service';
import type { OperationInFlight, OperationStats } from './operation.model';
import { RecoveryRepository, type DuePayment, type DueRefund } from './recovery.repository';
import { watchOperations } from './recovery-metrics';

/** The sweep as a task (queue `gateway.batch`, the batch lane, by the route in contracts). */
export const RESUME_OPERATIONS_TASK = 'gateway.resume_operations';

/** Payments and refunds one sweep resumes at most, each: a backlog is worked off over the next runs. */
export const RESUME_BATCH_SIZE_MAX = 100;
/** A scrape never waits longer than this for the figures (they are left out instead). */
const STATS_READ_TIMEOUT_MS = 2_000;

/**
 * Every 30 s, one sweep for the whole gateway (the replica leading the gateway's
 * scheduler sends it; any worker runs it). A missed slot is covered by the next, so the
 * grace is one interval, and a sweep that waited a minute in the queue is dropped.
 */
export const RESUME_OPERATIONS_SCHEDULE: TaskSchedule = {
  name: 'resume-operations',
  task: RESUME_OPERATIONS_TASK,
  everyMs: 30_000,
  graceMs: 30_000,
  expiresMs: 60_000,
};

/** What one sweep resumed. */
export interface ResumeReport {
  payments: number;
  refunds: number;
}

/**
 * Nothing stays stuck. A payment whose authorization, capture or cancel, or a refund,
 * has not ended `OPERATION_RESUME_AFTER_MS` after it began (its task dead-lettered: the
 * processor or the ledger stayed away, or the outcome stayed unknown) is resumed: its
 * task is sent again, with a new id per round (`pay_…:capture:resume:<n>`), and the task
 * resolves it by asking the processor with the same idempotency key. After
 * `OPERATION_RESUMES_MAX` rounds it is left for an operator (`GET /v1/admin/operations`,
 * the `abandoned` state of `clearline_operations_in_flight`).
 */
@Injectable()
export class RecoveryService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Recovery');
  private readonly resumeAfterMs: number;
  private unwatch: (() => void) | null = null;

  constructor(
    private readonly repository: RecoveryRepository,
    private readonly dataSource: DataSource,
    config: ConfigService<GatewayEnvironment, true>,
  ) {
    this.resumeAfterMs = config.get('OPERATION_RESUME_AFTER_MS', { infer: true });
  }

  onModuleInit(): void {
    this.unwatch = watchOperations(() => this.stats());
  }

  onModuleDestroy(): void {
    this.unwatch?.();
  }

  /**
   * One sweep: claims the oldest due payments and refunds (a batch of each) and sends
   * their tasks through the outbox, in one transaction: a claim is never counted without
   * its task, nor a task sent without its claim.
   */
  async resume(): Promise<ResumeReport> {
    const due = {
      afterMs: this.resumeAfterMs,
      limit: RESUME_BATCH_SIZE_MAX,
      resumesMax: OPERATION_RESUMES_MAX,
    };
    const { payments, refunds } = await readCommitted(this.dataSource, async (manager) => {
      const claimed = {
        payments: await this.repository.claimPayments(manager, due),
        refunds: await this.repository.claimRefunds(manager, due),
      };
      await enqueueTasks(manager, [
        ...claimed.payments.map(paymentTask),
        ...claimed.refunds.map(refundTask),
      ]);
      return claimed;
    });
    for (const p of payments) this.logger.warn(`resumed ${p.operation} of ${p.id} (${p.resume})`);
    for (const r of refunds) this.logger.warn(`resumed refund ${r.id} (${r.resume})`);
    return { payments: payments.length, refunds: refunds.length };
  }

  /** Operations in flight for at least `olderThanS`, oldest first (`GET /v1/admin/operations`). */
  async list(
    olderThanS: number,
    limit: number,
    startingAfter: string | null,
  ): Promise<Page<OperationInFlight>> {
    const page = await this.repository.list(olderThanS, limit, startingAfter);
    if (!page) throw new PageCursorNotFoundError(startingAfter ?? '', 'after');
    return page;
  }

  /** The metric's figures. */
  stats(): Promise<OperationStats[]> {
    return this.repository.stats(this.resumeAfterMs, OPERATION_RESUMES_MAX, STATS_READ_TIMEOUT_MS);
  }
}

function paymentTask(due: DuePayment): OutboxTask {
  const payload: PaymentTaskPayload | CapturePaymentTaskPayload =
    due.operation === 'capture'
      ? { payment_id: due.id, amount_to_capture: Number(due.amountToCapture), resume: due.resume }
      : { payment_id: due.id, resume: due.resume };
  return {
    task: PAYMENT_TASK[due.operation],
    payload,
    options: { id: resumedTaskId(paymentTaskId(due.id, due.operation), due.resume) },
  };
}

function refundTask(due: DueRefund): OutboxTask {
  const payload: ProcessRefundPayload = {
    refund_id: due.id,
    payment_id: due.paymentId,
    merchant_id: due.merchantId,
    amount: due.amount,
    currency: due.currency,
    source: due.source,
    resume: due.resume,
  };
  return {
    task: REFUND_TASK.process,
    payload,
    options: { id: resumedTaskId(processRefundTaskId(due.id), due.resume) },
  };
}
