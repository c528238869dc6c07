import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import type { RefundJobRow } from './refund-job.rows';
import type { RefundRequest } from './refund-processing.service';
import { RefundError, RefundErrorCode } from './refund.exception';

const COLUMNS = `refund_id, payment_id, merchant_id, amount, currency, status, funded_from,
  failure_reason, processor_refund_id`;

/** All SQL of refund processing. */
@Injectable()
export class RefundJobsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The job of this refund, created on its first delivery. */
  async open(request: RefundRequest): Promise<RefundJobRow> {
    const rows: RefundJobRow[] = await this.dataSource.query(
      `WITH added AS (
         INSERT INTO refund_jobs (refund_id, payment_id, merchant_id, amount, currency, status)
         VALUES ($1, $2, $3, $4, $5, 'processing')
         ON CONFLICT (refund_id) DO NOTHING RETURNING ${COLUMNS})
       SELECT ${COLUMNS} FROM added
       UNION ALL
       SELECT ${COLUMNS} FROM refund_jobs WHERE refund_id = $1 AND NOT EXISTS (SELECT 1 FROM added)`,
      [
        request.refundId,
        request.paymentId,
        request.merchantId,
        request.amount.toString(),
        request.currency,
      ],
    );
    const [row] = rows;
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

  async recordFunding(refundId: string, fundedFrom: 'pending' | 'available'): Promise<void> {
    await this.dataSource.query(
      `UPDATE refund_jobs SET funded_from = $2, updated_at = now() WHERE refund_id = $1`,
      [refundId, fundedFrom],
    );
  }

  /**
   * Ends a job once: true if this call moved it out of `processing` (the caller then
   * announces the outcome in the same transaction), false if it had ended before.
   */
  async finish(
    manager: EntityManager,
    refundId: string,
    outcome: {
      status: 'succeeded' | 'failed';
      failureReason: string | null;
      processorRefundId: string | null;
    },
  ): Promise<boolean> {
    // Wrapped in a SELECT: TypeORM answers a bare UPDATE with [rows, count].
    const rows: unknown[] = await manager.query(
      `WITH ended AS (
         UPDATE refund_jobs
            SET status = $2, failure_reason = $3, processor_refund_id = $4, updated_at = now()
          WHERE refund_id = $1 AND status = 'processing' RETURNING refund_id)
       SELECT refund_id FROM ended`,
      [refundId, outcome.status, outcome.failureReason, outcome.processorRefundId],
    );
    return rows.length === 1;
  }
}
