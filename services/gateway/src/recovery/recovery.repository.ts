import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type {
  OperationInFlight,
  OperationKind,
  OperationState,
  OperationStats,
} from './operation.model';

/** A payment's in-flight statuses and the operation each stands for. */
const PAYMENT_IN_FLIGHT = `status IN ('processing', 'capturing', 'canceling')`;
const PAYMENT_OPERATION = `CASE status WHEN 'processing' THEN 'authorize'
  WHEN 'capturing' THEN 'capture' ELSE 'cancel' END`;

/** Every operation in flight, as one relation (both halves read their partial index). */
const IN_FLIGHT = `
  SELECT id, 'payment' AS object, status, ${PAYMENT_OPERATION} AS operation, merchant_id,
         created_at, updated_at, resume_count, resumed_at
    FROM payments WHERE ${PAYMENT_IN_FLIGHT}
  UNION ALL
  SELECT id, 'refund', status, 'refund', merchant_id, created_at, updated_at, resume_count,
         resumed_at
    FROM refunds WHERE status = 'pending'`;

/** What the sweeper needs to send a payment's task again. */
export interface DuePayment {
  id: string;
  operation: Exclude<OperationKind, 'refund'>;
  resume: number;
  amountToCapture: string | null;
}

/** What the sweeper needs to send a refund's task again. */
export interface DueRefund {
  id: string;
  paymentId: string;
  merchantId: string;
  amount: string;
  currency: string;
  source: string;
  resume: number;
}

/** How a claim picks operations: older than `afterMs` (since begun or last resumed). */
export interface DueSelection {
  afterMs: number;
  limit: number;
  resumesMax: number;
}

interface InFlightRow {
  id: string;
  object: 'payment' | 'refund';
  status: string;
  operation: OperationKind;
  merchant_id: string;
  created_at: Date;
  updated_at: Date;
  resume_count: number;
  age_s: number;
}

/**
 * All SQL of recovery. The claims take the oldest due operations with `FOR UPDATE SKIP
 * LOCKED` and count the resume on the row in the same statement, so two replicas
 * running the sweep at once never take the same operation, and the next round waits
 * another `afterMs` from this one. Only the sweep's own columns are written
 * (`resume_count`, `resumed_at`): a task that settles the object concurrently wins, and
 * its status change resets them. Each UPDATE is read through a final SELECT: TypeORM
 * answers a bare UPDATE with `[rows, count]`.
 */
@Injectable()
export class RecoveryRepository {
  constructor(private readonly dataSource: DataSource) {}

  async claimPayments(manager: EntityManager, due: DueSelection): Promise<DuePayment[]> {
    const rows = await manager.query<
      { id: string; operation: DuePayment['operation']; resume: number; amount: string | null }[]
    >(
      `WITH due AS (
         SELECT id FROM payments
          WHERE ${PAYMENT_IN_FLIGHT} AND resume_count < $3
            AND coalesce(resumed_at, updated_at) < now() - $1::float8 * interval '1 millisecond'
          ORDER BY created_at, id LIMIT $2
          FOR UPDATE SKIP LOCKED)
       , resumed AS (
         UPDATE payments p SET resume_count = p.resume_count + 1, resumed_at = now()
           FROM due WHERE p.id = due.id
         RETURNING p.id, ${PAYMENT_OPERATION} AS operation, p.resume_count AS resume,
                   coalesce(p.amount_to_capture, p.amount_capturable)::text AS amount)
       SELECT * FROM resumed`,
      [due.afterMs, due.limit, due.resumesMax],
    );
    return rows.map((row) => ({
      id: row.id,
      operation: row.operation,
      resume: row.resume,
      amountToCapture: row.operation === 'capture' ? row.amount : null,
    }));
  }

  async claimRefunds(manager: EntityManager, due: DueSelection): Promise<DueRefund[]> {
    const rows = await manager.query<
      {
        id: string;
        payment_id: string;
        merchant_id: string;
        amount: string;
        currency: string;
        source: string;
        resume: number;
      }[]
    >(
      `WITH due AS (
         SELECT id FROM refunds
          WHERE status = 'pending' AND resume_count < $3
            AND coalesce(resumed_at, updated_at) < now() - $1::float8 * interval '1 millisecond'
          ORDER BY created_at, id LIMIT $2
          FOR UPDATE SKIP LOCKED)
       , resumed AS (
         UPDATE refunds r SET resume_count = r.resume_count + 1, resumed_at = now()
           FROM due, payments p WHERE r.id = due.id AND p.id = r.payment_id
         RETURNING r.id, r.payment_id, r.merchant_id, r.amount::text AS amount, r.currency,
                   p.source, r.resume_count AS resume)
       SELECT * FROM resumed`,
      [due.afterMs, due.limit, due.resumesMax],
    );
    return rows.map((row) => ({
      id: row.id,
      paymentId: row.payment_id,
      merchantId: row.merchant_id,
      amount: row.amount,
      currency: row.currency,
      source: row.source,
      resume: row.resume,
    }));
  }

  /**
   * Counts and oldest age per operation and state, in one statement over the partial
   * indexes (read on scrape, under `timeoutMs`).
   */
  async stats(afterMs: number, resumesMax: number, timeoutMs: number): Promise<OperationStats[]> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`SET LOCAL statement_timeout = ${Math.trunc(timeoutMs)}`);
      const rows = await manager.query<
        { kind: OperationKind; state: OperationState; count: number; oldest_age_s: number }[]
      >(
        `SELECT operation AS kind, state, count(*)::int AS count,
                extract(epoch FROM now() - min(updated_at))::float8 AS oldest_age_s
           FROM (${IN_FLIGHT}) o
          CROSS JOIN LATERAL (SELECT CASE
             WHEN coalesce(o.resumed_at, o.updated_at) >= now() - $1::float8 * interval '1 millisecond'
               THEN 'running'
             WHEN o.resume_count >= $2 THEN 'abandoned'
             ELSE 'overdue' END AS state) s
          GROUP BY operation, state`,
        [afterMs, resumesMax],
      );
      return rows.map((row) => ({
        kind: row.kind,
        state: row.state,
        count: row.count,
        oldestAgeS: row.oldest_age_s,
      }));
    });
  }

  /**
   * A page of operations in flight that began at least `olderThanS` ago, oldest first
   * (by creation, then id), after the object `after` when given. `undefined` when
   * `after` names no payment or refund.
   */
  async list(
    olderThanS: number,
    limit: number,
    after: string | null,
  ): Promise<{ items: OperationInFlight[]; hasMore: boolean } | undefined> {
    if (after !== null && !(await this.exists(after))) return undefined;
    const rows = await this.dataSource.query<InFlightRow[]>(
      `WITH after AS (
         SELECT created_at, id FROM payments WHERE id = $3
         UNION ALL SELECT created_at, id FROM refunds WHERE id = $3)
       SELECT o.id, o.object, o.status, o.operation, o.merchant_id, o.created_at, o.updated_at,
              o.resume_count, extract(epoch FROM now() - o.updated_at)::float8 AS age_s
         FROM (${IN_FLIGHT}) o
        WHERE o.updated_at <= now() - $2::float8 * interval '1 second'
          AND ($3::text IS NULL OR (o.created_at, o.id) > (SELECT created_at, id FROM after))
        ORDER BY o.created_at, o.id
        LIMIT $1`,
      [limit + 1, olderThanS, after],
    );
    return {
      items: rows.slice(0, limit).map((row) => ({
        id: row.id,
        object: row.object,
        status: row.status,
        operation: row.operation,
        merchantId: row.merchant_id,
        createdAt: row.created_at,
        updatedAt: row.updated_at,
        ageS: row.age_s,
        resumes: row.resume_count,
      })),
      hasMore: rows.length > limit,
    };
  }

  private async exists(id: string): Promise<boolean> {
    const rows = await this.dataSource.query<unknown[]>(
      `SELECT 1 FROM payments WHERE id = $1 UNION ALL SELECT 1 FROM refunds WHERE id = $1`,
      [id],
    );
    return rows.length > 0;
  }
}
