import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { GroupCommit, paginate, type Page, type PageRequest } from '@clearline/persistence';
import { OutboxStatement, type OutboxTask } from '@clearline/tasks';
import { HOT_PATH_GROUP_COMMIT } from '../batching/hot-path';
import { EventWrites, type NewEvent } from '../events/events.repository';
import { IdempotencyReferences, type ClaimKey } from '../idempotency/idempotency.repository';
import { reserveRefunds, settleRefundReservations } from '../payments/payments.repository';
import type { Refund, RefundEnd, RefundReason } from './refund.model';
import { REFUND_COLUMNS, toRefund, type RefundRow } from './refund.rows';

type Queryable = Pick<EntityManager, 'query'>;

/** A pending refund's end, with the event that reports it. */
export interface RefundEnding {
  id: string;
  end: RefundEnd;
  /** `refund.succeeded` or `refund.failed`, with the refund object as it is after the end. */
  event: NewEvent;
}

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
 * repository's `reserveRefunds`, `settleRefundReservations`); ending one records its event
 * in that statement too (the events repository's `EventWrites`). Every read for a merchant
 * is filtered by it.
 */
@Injectable()
export class RefundsRepository {
  /** Concurrent lookups by id share one query (the outcome task's first read). */
  private readonly lookups = new GroupCommit<string, Refund | undefined>(
    HOT_PATH_GROUP_COMMIT,
    async (ids) => {
      const rows = await this.dataSource.query<RefundRow[]>(
        `SELECT ${REFUND_COLUMNS} FROM refunds WHERE id = ANY($1::text[])`,
        [ids],
      );
      const byId = new Map(rows.map((row) => [row.id, toRefund(row)]));
      return ids.map((id) => byId.get(id));
    },
  );
  private readonly endings = new GroupCommit<RefundEnding, Date | null>(
    HOT_PATH_GROUP_COMMIT,
    (endings) => this.settleMany(endings),
  );

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

  /** `findById`, in a query shared with the lookups that come at the same time. */
  findByIdShared(id: string): Promise<Refund | undefined> {
    return this.lookups.submit(id);
  }

  /**
   * Ends a pending refund and settles its reservation on the payment (the amount moves
   * to `amount_refunded` if it succeeded, and is freed either way), keeping the
   * processor's reference of a refund that succeeded, and records `event` — all in one
   * statement shared with the refunds that end at the same time (group commit). Returns
   * the time of the change, or null when the refund had ended before (a redelivered
   * outcome; nothing is recorded).
   */
  settleOne(ending: RefundEnding): Promise<Date | null> {
    return this.endings.submit(ending);
  }

  /** A refund named twice ends once: its later endings are left out (and answer null). */
  private async settleMany(all: readonly RefundEnding[]): Promise<(Date | null)[]> {
    const byRefund = new Map<string, RefundEnding>();
    for (const ending of all) if (!byRefund.has(ending.id)) byRefund.set(ending.id, ending);
    const endings = [...byRefund.values()];
    const events = EventWrites.of(
      endings.map((e) => ({ key: e.id, type: e.event.type, data: e.event.data })),
      5,
    );
    const rows = await this.dataSource.query<{ id: string; updated_at: Date }[]>(
      `WITH input AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
           AS i(id, status, failure_reason, processor_reference)
       ), ended AS (
         UPDATE refunds r SET status = i.status, failure_reason = i.failure_reason,
                processor_reference = i.processor_reference, updated_at = now()
           FROM input i
          WHERE r.id = i.id AND r.status = 'pending'
         RETURNING r.id AS key, r.merchant_id, r.payment_id, r.amount, r.status, r.updated_at
       ), ${settleRefundReservations('ended')}, ${events.ctes('ended')}
       SELECT key AS id, updated_at, ${events.notify()} AS woken FROM ended`,
      [
        endings.map((e) => e.id),
        endings.map((e) => e.end.status),
        endings.map((e) => e.end.failureReason),
        endings.map((e) => e.end.processorReference),
        ...events.parameters,
      ],
    );
    const moved = new Map(rows.map((row) => [row.id, row.updated_at]));
    return all.map((e) => (byRefund.get(e.id) === e ? (moved.get(e.id) ?? null) : null));
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
