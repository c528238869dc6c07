import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { paginate, type Page, type PageRequest } from '@clearline/persistence';
import { OutboxStatement, type OutboxTask } from '@clearline/tasks';
import { IdempotencyReferences, type ClaimKey } from '../idempotency/idempotency.repository';
import { reserveRefunds, settleRefundReservations } from '../payments/payments.repository';
import type { Refund, RefundEnd, RefundReason } from './refund.model';
import { REFUND_COLUMNS, toRefund, type RefundRow } from './refund.rows';

type Queryable = Pick<EntityManager, 'query'>;

export interface NewRefund {
  id: string;
  merchantId: string;
  paymentId: string;
  amount: bigint;
  currency: string;
  reason: RefundReason | null;
  metadata: Record<string, string>;
}

/**
 * All SQL for refunds. Opening a refund reserves its amount on the payment, and ending
 * one settles the reservation, in the same statement as the refund's own row (the payments
 * repository's `reserveRefunds`, `settleRefundReservations`). Every read for a merchant
 * is filtered by it.
 */
@Injectable()
export class RefundsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Opens a refund of a payment the caller's transaction has locked and checked, in one
   * statement: its amount reserved on the payment, the refund row, the idempotency
   * reference of its request (what a retry after a crash resumes from) and the outbox
   * rows of `tasks`, which wake no relay: the caller publishes the answer's `outbox` once
   * its transaction has committed (`CommittedOutbox.sendCommitted`).
   */
  async open(
    manager: EntityManager,
    refund: NewRefund,
    claim: ClaimKey | null,
    tasks: readonly OutboxTask[],
  ): Promise<{ refund: Refund; outbox: OutboxStatement }> {
    const references = IdempotencyReferences.of(claim ? [{ claim, reference: refund.id }] : [], 8);
    const outbox = OutboxStatement.of(tasks, {
      firstParameter: 8 + references.parameters.length,
    });
    const rows = await manager.query<RefundRow[]>(
      `WITH input AS (SELECT $3::text AS payment_id, $4::bigint AS amount),
            ${reserveRefunds('input')},
            inserted AS (
              INSERT INTO refunds (id, merchant_id, payment_id, amount, currency, status, reason, metadata)
              SELECT $1, $2, r.id, $4, $5, 'pending', $6, $7::jsonb FROM refund_reservations_made r
              RETURNING ${REFUND_COLUMNS}
            ), ${references.cte()}, queued AS (
              ${outbox.insert(`${outbox.rows('o')} CROSS JOIN inserted`)}
            )
       SELECT * FROM inserted`,
      [
        refund.id,
        refund.merchantId,
        refund.paymentId,
        refund.amount.toString(),
        refund.currency,
        refund.reason,
        JSON.stringify(refund.metadata),
        ...references.parameters,
        ...outbox.parameters,
      ],
    );
    const [row] = rows;
    if (!row) throw new Error(`refund ${refund.id}: payment ${refund.paymentId} was not reserved`);
    return { refund: toRefund(row), outbox };
  }

  async find(
    merchantId: string,
    id: string,
    db: Queryable = this.dataSource,
  ): Promise<Refund | undefined> {
    const rows = await db.query<RefundRow[]>(
      `SELECT ${REFUND_COLUMNS} FROM refunds WHERE merchant_id = $1 AND id = $2`,
      [merchantId, id],
    );
    return rows[0] && toRefund(rows[0]);
  }

  /** For the outcome task, which knows the refund id only. */
  async findById(id: string, db: Queryable = this.dataSource): Promise<Refund | undefined> {
    const rows = await db.query<RefundRow[]>(
      `SELECT ${REFUND_COLUMNS} FROM refunds WHERE id = $1`,
      [id],
    );
    return rows[0] && toRefund(rows[0]);
  }

  /**
   * Ends a pending refund and settles its reservation on the payment, in one statement
   * (the amount moves to `amount_refunded` if it succeeded, and is freed either way),
   * keeping the processor's reference of a refund that succeeded. Returns nothing when
   * the refund had ended before (a redelivered outcome).
   */
  async settle(
    manager: EntityManager,
    id: string,
    outcome: RefundEnd,
  ): Promise<Refund | undefined> {
    const rows = await manager.query<RefundRow[]>(
      `WITH ended AS (
         UPDATE refunds SET status = $2, failure_reason = $3, processor_reference = $4,
                updated_at = now()
          WHERE id = $1 AND status = 'pending'
          RETURNING ${REFUND_COLUMNS}
       ), ${settleRefundReservations('ended')}
       SELECT ${REFUND_COLUMNS} FROM ended`,
      [id, outcome.status, outcome.failureReason, outcome.processorReference],
    );
    return rows[0] && toRefund(rows[0]);
  }

  /** A page of the merchant's refunds (of one payment, when `paymentId` is given), newest first. */
  async list(
    merchantId: string,
    request: PageRequest,
    paymentId: string | null,
  ): Promise<Page<Refund>> {
    const page = await paginate<RefundRow>(
      this.dataSource,
      {
        table: 'refunds',
        columns: REFUND_COLUMNS,
        where: {
          merchant_id: merchantId,
          ...(paymentId === null ? {} : { payment_id: paymentId }),
        },
      },
      request,
    );
    return { items: page.items.map(toRefund), hasMore: page.hasMore };
  }
}
