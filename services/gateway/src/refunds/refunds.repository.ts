import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import {
  GroupCommit,
  paginate,
  type Page,
  type PageRequest,
  preparedStatement,
} from '@clearline/persistence';
import { CommittedOutbox, OutboxStatement, type OutboxTask } from '@clearline/tasks';
import { HOT_PATH_GROUP_COMMIT } from '../batching/hot-path';
import { EventWrites, type NewEvent } from '../events/events.repository';
import { IdempotencyReferences, type ClaimKey } from '../idempotency/idempotency.repository';
import { reserveRefunds, settleRefundReservations } from '../payments/payments.repository';
import type { Refund, RefundEnd } from './refund.model';
import { REFUND_COLUMNS, toRefund, type RefundRow } from './refund.rows';

type Queryable = Pick<EntityManager, 'query'>;

/** A pending refund's end, with the event that reports it. */
export interface RefundEnding {
  id: string;
  end: RefundEnd;
  /** `refund.succeeded` or `refund.failed`, with the refund object as it is after the end. */
  event: NewEvent;
}

/** A refund to open: the refund as it is to be written (pending), its request's claim, its task and event. */
export interface RefundOpening {
  refund: Refund;
  claim: ClaimKey | null;
  /** `refund.process_refund`, for the refund service. */
  task: OutboxTask;
  /** `refund.created`, with the refund object. */
  event: NewEvent;
}

/**
 * Opening: each refund's amount reserved on its payment if it still covers it (the
 * payments repository's `reserveRefunds`), and for each reserved, the refund row, the
 * idempotency reference of its request, its outbox task (which wakes no relay: the
 * writer publishes it) and its event, in one statement. The refund's times are the
 * writer's, so the event the writer built shows what the row holds.
 */
function openSql(
  references: IdempotencyReferences,
  outbox: OutboxStatement,
  events: EventWrites,
): string {
  return `
  WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[],
                         $7::jsonb[], $8::timestamptz[])
      AS i(id, merchant_id, payment_id, amount, currency, reason, metadata, created_at)
  ), ${reserveRefunds('input')},
  inserted AS (
    INSERT INTO refunds (id, merchant_id, payment_id, amount, currency, status, reason, metadata,
                         created_at, updated_at)
    SELECT i.id, i.merchant_id, i.payment_id, i.amount, i.currency, 'pending', i.reason, i.metadata,
           i.created_at, i.created_at
      FROM input i JOIN refund_reservations_made r ON r.id = i.payment_id
    RETURNING ${REFUND_COLUMNS}
  ), opened AS (
    SELECT id AS key, merchant_id FROM inserted
  ), ${references.cte('opened')}, queued AS (
    ${outbox.insert(`${outbox.rows('o')} JOIN opened ON opened.key = o.key`)}
  ), ${events.ctes('opened')}
  SELECT inserted.*, ${events.notify()} AS woken FROM inserted`;
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
        preparedStatement(`SELECT ${REFUND_COLUMNS} FROM refunds WHERE id = ANY($1::text[])`),
        [ids],
      );
      const byId = new Map(rows.map((row) => [row.id, toRefund(row)]));
      return ids.map((id) => byId.get(id));
    },
  );
  /** A statement reserves once per payment: refunds of one payment opened together take turns. */
  private readonly openings = new GroupCommit<RefundOpening, Refund | null>(
    { ...HOT_PATH_GROUP_COMMIT, turnKey: (opening) => opening.refund.paymentId },
    (openings) => this.openTurn(openings),
  );
  private readonly endings = new GroupCommit<RefundEnding, Date | null>(
    HOT_PATH_GROUP_COMMIT,
    (endings) => this.settleMany(endings),
  );

  constructor(
    private readonly dataSource: DataSource,
    private readonly committed: CommittedOutbox,
  ) {}

  /**
   * Opens a refund, in a statement shared with the refunds opened at the same time (group
   * commit): its amount reserved on the payment if the payment still covers it, the
   * refund row, the idempotency reference of its request, its event and its task — which
   * this process publishes right after the commit (the relay's sweep if it cannot). Null
   * when the payment did not cover it (`reserveRefunds`): nothing was written.
   */
  openShared(opening: RefundOpening): Promise<Refund | null> {
    return this.openings.submit(opening);
  }

  /**
   * `openShared` in the caller's transaction, for a payment it has locked and checked;
   * the caller publishes `outbox` once its transaction has committed
   * (`CommittedOutbox.sendCommitted`).
   */
  async open(
    manager: EntityManager,
    opening: RefundOpening,
  ): Promise<{ refund: Refund | null; outbox: OutboxStatement }> {
    const { opened, outbox } = await this.openStatement(manager, [opening]);
    return { refund: opened.get(opening.refund.id) ?? null, outbox };
  }

  /** At most one refund per payment (`turnKey`): commits, then publishes their tasks. */
  private async openTurn(openings: readonly RefundOpening[]): Promise<(Refund | null)[]> {
    const { opened, outbox } = await this.openStatement(this.dataSource, openings);
    // Committed (one statement): the tasks of the refunds opened go out now.
    this.committed.sendCommitted(outbox, new Set(opened.keys()));
    return openings.map((opening) => opened.get(opening.refund.id) ?? null);
  }

  private async openStatement(
    db: Queryable,
    openings: readonly RefundOpening[],
  ): Promise<{ opened: Map<string, Refund>; outbox: OutboxStatement }> {
    const refunds = openings.map((opening) => opening.refund);
    const references = IdempotencyReferences.of(
      openings.flatMap((o) => (o.claim ? [{ claim: o.claim, reference: o.refund.id }] : [])),
      9,
    );
    const keys = refunds.map((refund) => refund.id);
    const outbox = OutboxStatement.of(
      openings.map((opening) => opening.task),
      { firstParameter: 9 + references.parameters.length, keys, sentBy: 'writer' },
    );
    const events = EventWrites.of(
      openings.map((opening) => ({ key: opening.refund.id, ...opening.event })),
      9 + references.parameters.length + outbox.parameters.length,
    );
    const rows = await db.query<RefundRow[]>(
      preparedStatement(openSql(references, outbox, events)),
      [
        keys,
        refunds.map((refund) => refund.merchantId),
        refunds.map((refund) => refund.paymentId),
        refunds.map((refund) => refund.amount.toString()),
        refunds.map((refund) => refund.currency),
        refunds.map((refund) => refund.reason),
        refunds.map((refund) => JSON.stringify(refund.metadata)),
        refunds.map((refund) => refund.createdAt),
        ...references.parameters,
        ...outbox.parameters,
        ...events.parameters,
      ],
    );
    return { opened: new Map(rows.map((row) => [row.id, toRefund(row)])), outbox };
  }

  async find(
    merchantId: string,
    id: string,
    db: Queryable = this.dataSource,
  ): Promise<Refund | undefined> {
    const rows = await db.query<RefundRow[]>(
      preparedStatement(`SELECT ${REFUND_COLUMNS} FROM refunds WHERE merchant_id = $1 AND id = $2`),
      [merchantId, id],
    );
    return rows[0] && toRefund(rows[0]);
  }

  /** For the outcome task, which knows the refund id only. */
  async findById(id: string): Promise<Refund | undefined> {
    const rows = await this.dataSource.query<RefundRow[]>(
      preparedStatement(`SELECT ${REFUND_COLUMNS} FROM refunds WHERE id = $1`),
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
      preparedStatement(`WITH input AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
           AS i(id, status, failure_reason, processor_reference)
       ), ended AS (
         UPDATE refunds r SET status = i.status, failure_reason = i.failure_reason,
                processor_reference = i.processor_reference, updated_at = now()
           FROM input i
          WHERE r.id = i.id AND r.status = 'pending'
         RETURNING r.id AS key, r.merchant_id, r.payment_id, r.amount, r.status, r.updated_at
       ), ${settleRefundReservations('ended')}, ${events.ctes('ended')}
       SELECT key AS id, updated_at, ${events.notify()} AS woken FROM ended`),
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
