import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { GroupCommit, type GroupCommitOptions } from '@clearline/persistence';
import type { RefundJobRow } from './refund-job.rows';
import type { FundingAccount } from './refund-ledger';
import type { RefundRequest } from './refund-processing.service';
import { RefundError, RefundErrorCode } from './refund.exception';

/**
 * Jobs opened by one statement at most, and such statements in flight: the refund
 * deliveries a worker runs at once (its prefetch) open their jobs together.
 */
const OPEN_GROUP_COMMIT: GroupCommitOptions = { sizeMax: 500, concurrency: 2 };

const COLUMNS = `refund_id, payment_id, merchant_id, amount, currency, status, funded_from,
  failure_reason, processor_refund_id`;

/**
 * All SQL of refund processing. A refund makes two commits here — its job opened, its
 * job ended with its outcome's message — and the first is shared by the refunds that
 * arrive together (group commit): commits, each waiting for its WAL flush, were most of
 * what PostgreSQL did for a refund.
 */
@Injectable()
export class RefundJobsRepository {
  private readonly opening = new GroupCommit<RefundRequest, RefundJobRow | null>(
    OPEN_GROUP_COMMIT,
    (requests) => this.openMany(requests),
  );

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

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
      `WITH input AS (
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
          AND refund_id NOT IN (SELECT refund_id FROM added)`,
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
   * Ends a job once, with where its hold was taken (null: nothing was held, or an
   * earlier run recorded it): true if this call moved it out of `processing` (the caller
   * then announces the outcome in the same transaction), false if it had ended before.
   */
  async finish(
    manager: EntityManager,
    refundId: string,
    outcome: {
      status: 'succeeded' | 'failed';
      failureReason: string | null;
      processorRefundId: string | null;
    },
    fundedFrom: FundingAccount | null,
  ): Promise<boolean> {
    // Wrapped in a SELECT: TypeORM answers a bare UPDATE with [rows, count].
    const rows: unknown[] = await manager.query(
      `WITH ended AS (
         UPDATE refund_jobs
            SET status = $2, failure_reason = $3, processor_refund_id = $4,
                funded_from = coalesce($5, funded_from), updated_at = now()
          WHERE refund_id = $1 AND status = 'processing' RETURNING refund_id)
       SELECT refund_id FROM ended`,
      [refundId, outcome.status, outcome.failureReason, outcome.processorRefundId, fundedFrom],
    );
    return rows.length === 1;
  }
}
