import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { GroupCommit, type GroupCommitOptions, preparedStatement } from '@clearline/persistence';
import { CommittedOutbox, OutboxStatement, type OutboxTask } from '@clearline/tasks';
import type { RefundJobRow } from './refund-job.rows';
import type { FundingAccount } from './refund-ledger';
import type { RefundOutcome, RefundRequest } from './refund-processing.service';
import { RefundError, RefundErrorCode } from './refund.exception';

/**
 * Jobs opened (or ended) by one statement at most, and such statements in flight: the
 * refund deliveries a worker runs at once (its prefetch) open, and end, their jobs
 * together.
 */
const JOB_GROUP_COMMIT: GroupCommitOptions = { sizeMax: 500, concurrency: 2 };

/** How a job ends, and the message that announces it (written only if this end moves it). */
export interface JobEnd {
  refundId: string;
  outcome: RefundOutcome;
  /** Where the hold was taken; null: nothing was held, or an earlier run recorded it. */
  fundedFrom: FundingAccount | null;
  announce: OutboxTask;
}

const COLUMNS = `refund_id, payment_id, merchant_id, amount, currency, status, funded_from,
  failure_reason, processor_refund_id`;

/**
 * All SQL of refund processing. A refund makes two commits here — its job opened, its
 * job ended with its outcome's message — and both are shared by the refunds that open,
 * or end, together (group commit): commits, each waiting for its WAL flush, were most of
 * what PostgreSQL did for a refund.
 */
@Injectable()
export class RefundJobsRepository {
  private readonly opening = new GroupCommit<RefundRequest, RefundJobRow | null>(
    JOB_GROUP_COMMIT,
    (requests) => this.openMany(requests),
  );
  private readonly ending = new GroupCommit<JobEnd, boolean>(JOB_GROUP_COMMIT, (ends) =>
    this.finishMany(ends),
  );

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly committed: CommittedOutbox,
  ) {}

  /** The job of this refund, created on its first delivery. */
  async open(request: RefundRequest): Promise<RefundJobRow> {
    const row = await this.opening.submit(request);
    // The statement's snapshot predates a job another delivery inserted and committed
    // while this INSERT waited on it: the conflict hides it from both halves.
    if (!row) {
      throw new RefundError(
        `the job of ${request.refundId} was inserted by another delivery`,
        RefundErrorCode.JobOpenedConcurrently,
      );
    }
    return row;
  }

  /** Each request's job (added, or as it was), or null where the snapshot cannot see it. */
  private async openMany(requests: readonly RefundRequest[]): Promise<(RefundJobRow | null)[]> {
    const rows: RefundJobRow[] = await this.dataSource.query(
      preparedStatement(`WITH input AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[])
           AS i(refund_id, payment_id, merchant_id, amount, currency)
       ), added AS (
         -- In id order: two statements that hold some of the same redelivered jobs wait for
         -- each other in one order, never in opposite orders (a deadlock).
         INSERT INTO refund_jobs (refund_id, payment_id, merchant_id, amount, currency, status)
         SELECT DISTINCT ON (refund_id) refund_id, payment_id, merchant_id, amount, currency,
                'processing'
           FROM input ORDER BY refund_id
         ON CONFLICT (refund_id) DO NOTHING RETURNING ${COLUMNS})
       SELECT ${COLUMNS} FROM added
       UNION ALL
       SELECT ${COLUMNS} FROM refund_jobs
        WHERE refund_id IN (SELECT refund_id FROM input)
          AND refund_id NOT IN (SELECT refund_id FROM added)`),
      [
        requests.map((r) => r.refundId),
        requests.map((r) => r.paymentId),
        requests.map((r) => r.merchantId),
        requests.map((r) => r.amount.toString()),
        requests.map((r) => r.currency),
      ],
    );
    const byRefund = new Map(rows.map((row) => [row.refund_id, row]));
    return requests.map((request) => byRefund.get(request.refundId) ?? null);
  }

  /**
   * Ends a job once, in a statement shared with the jobs that end at the same time, with
   * where its hold was taken and, in the same statement, its `announce` message, which
   * this process publishes right after the commit (the relay's sweep if it cannot): true
   * if this call moved the job out of `processing`, false if it had ended before (and
   * nothing is announced).
   */
  finish(end: JobEnd): Promise<boolean> {
    return this.ending.submit(end);
  }

  private async finishMany(all: readonly JobEnd[]): Promise<boolean[]> {
    // A refund ended twice at once (two deliveries) moves once: the later ends are left
    // out, and answer false.
    const byRefund = new Map<string, JobEnd>();
    for (const end of all) if (!byRefund.has(end.refundId)) byRefund.set(end.refundId, end);
    const ends = [...byRefund.values()];
    const outbox = OutboxStatement.of(
      ends.map((end) => end.announce),
      { firstParameter: 6, keys: ends.map((end) => end.refundId), sentBy: 'writer' },
    );
    const rows: { refund_id: string }[] = await this.dataSource.query(
      preparedStatement(`WITH input AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
           AS i(refund_id, status, failure_reason, processor_refund_id, funded_from)
       ), locked AS (
         -- In id order: two statements that end some of the same (redelivered) jobs wait
         -- for each other in one order, never in opposite orders (a deadlock).
         SELECT refund_id FROM refund_jobs
          WHERE refund_id IN (SELECT refund_id FROM input) AND status = 'processing'
          ORDER BY refund_id FOR UPDATE
       ), ended AS (
         UPDATE refund_jobs j
            SET status = i.status, failure_reason = i.failure_reason,
                processor_refund_id = i.processor_refund_id,
                funded_from = coalesce(i.funded_from, j.funded_from), updated_at = now()
           FROM input i
          WHERE j.refund_id = i.refund_id AND j.status = 'processing'
            AND j.refund_id IN (SELECT refund_id FROM locked)
         RETURNING j.refund_id
       ), announced AS (
         ${outbox.insert(`${outbox.rows('o')} JOIN ended e ON e.refund_id = o.key`)}
       )
       SELECT refund_id FROM ended`),
      [
        ends.map((end) => end.refundId),
        ends.map((end) => end.outcome.status),
        ends.map((end) => end.outcome.failureReason),
        ends.map((end) => end.outcome.processorRefundId),
        ends.map((end) => end.fundedFrom),
        ...outbox.parameters,
      ],
    );
    const moved = new Set(rows.map((row) => row.refund_id));
    // Committed (one statement): the announcements of the jobs that ended here go out now.
    this.committed.sendCommitted(outbox, moved);
    return all.map((end) => byRefund.get(end.refundId) === end && moved.has(end.refundId));
  }
}
