import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PAYMENT_TASK, paymentTaskId, type PaymentTaskPayload } from '@clearline/contracts';
import { GroupCommit, preparedStatement } from '@clearline/persistence';
import {
  CommittedOutbox,
  OutboxStatement,
  ResultStatement,
  type KeyedResult,
  type OutboxTask,
} from '@clearline/tasks';
import { HOT_PATH_GROUP_COMMIT } from '../batching/hot-path';
import { EventWrites } from '../events/events.repository';
import { IdempotencyReferences, type ClaimKey } from '../idempotency/idempotency.repository';
import type { CaptureMethod, Payment, PaymentChange, PaymentState } from './payment.model';
import { PAYMENT_COLUMNS, toPayment, type PaymentRow } from './payment.rows';

/** A payment to create, with the idempotency claim of its request (if any). */
export interface PaymentIntake {
  id: string;
  merchantId: string;
  amount: number;
  currency: string;
  captureMethod: CaptureMethod;
  source: string;
  description: string | null;
  metadata: Record<string, string>;
  claim: ClaimKey | null;
  /**
   * The request runs the authorization itself (`PaymentsService`): its task is not
   * published after the commit but kept as the durable fallback (the relay sends it once
   * the writer's grace has passed, if nobody ran it), and handed over on demand.
   */
  inPlace: boolean;
}

/** A payment created, and for one authorized in place, how to hand its task over. */
export interface CreatedPayment {
  payment: Payment;
  /** Publishes the payment's authorize task now (the in-place run did not finish it); null when it went out already. */
  handOver: (() => void) | null;
  /** The queue its authorize task goes to (for the result of an in-place run). */
  queue: string;
}

/** A status change of a payment task, with the event that reports it. */
export interface Settlement {
  paymentId: string;
  from: PaymentState;
  change: PaymentChange;
  eventType: string;
  /** The payment object as it is after the change (the event's data). */
  eventObject: unknown;
  /**
   * The result of the payment's task, when the request ran it in place: recorded with the
   * change (only if the payment moved), and the task's outbox row marked sent.
   */
  ran?: KeyedResult;
}

/**
 * A merchant's claim on its payment for a capture or cancel (`from` → `to`), with the
 * idempotency claim of its request and the task that carries it out.
 */
export interface PaymentClaim {
  merchantId: string;
  paymentId: string;
  from: PaymentState;
  to: PaymentState;
  /** A capture's amount: checked against `amount_capturable`, kept as `amount_to_capture`. */
  amountToCapture: number | null;
  claim: ClaimKey | null;
  task: OutboxTask;
}

/**
 * Claims: each payment of its merchant moves `from` → `to` only if it is in `from` (and
 * can still capture the amount), with what a capture asks for recorded (for the sweeper
 * to resume it) and its resume count started afresh; for each claimed, the request's
 * idempotency reference and the task, in one statement. At most one claim per payment
 * (an UPDATE … FROM changes a row once, whatever number of source rows match it).
 */
function claimSql(references: IdempotencyReferences, outbox: OutboxStatement): string {
  return `
  WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])
      AS i(claimed_id, claimed_merchant_id, from_status, to_status, capture_amount)
  ), claimed AS (
    UPDATE payments p SET status = i.to_status, updated_at = now(), resume_count = 0,
           resumed_at = NULL,
           amount_to_capture = CASE WHEN i.to_status = 'capturing' THEN i.capture_amount END
      FROM input i
     WHERE p.merchant_id = i.claimed_merchant_id AND p.id = i.claimed_id
       AND p.status = i.from_status
       AND (i.capture_amount IS NULL OR p.amount_capturable >= i.capture_amount)
    RETURNING ${PAYMENT_COLUMNS}
  ), claimed_keys AS (
    SELECT id AS key FROM claimed
  ), ${references.cte('claimed_keys')}, queued AS (
    ${outbox.insert(`${outbox.rows('o')} JOIN claimed_keys c ON c.key = o.key`)}
  )
  SELECT ${PAYMENT_COLUMNS} FROM claimed`;
}

/**
 * Creation: the payments, the idempotency references of their requests (what a retry
 * after a crash resumes from; the idempotency repository's `IdempotencyReferences`) and
 * their `gateway.authorize_payment` outbox tasks (the task layer's `OutboxStatement`),
 * in one statement (atomic, one round trip). No relay is woken: the gateway publishes
 * the tasks itself right after the commit (`CommittedOutbox`).
 */
function createSql(references: IdempotencyReferences, outbox: OutboxStatement): string {
  return `
  WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[],
                         $7::text[], $8::jsonb[])
      AS i(id, merchant_id, amount, currency, capture_method, source, description, metadata)
  ), inserted AS (
    INSERT INTO payments
      (id, merchant_id, amount, currency, status, capture_method, source, description, metadata)
    SELECT id, merchant_id, amount, currency, 'processing', capture_method, source, description,
           metadata
      FROM input
    RETURNING ${PAYMENT_COLUMNS}
  ), ${references.cte()}, queued AS (
    ${outbox.insert(outbox.rows('o'))}
  )
  SELECT inserted.* FROM inserted`;
}

/**
 * Settlement: each payment moves from the status its task expects (or not at all, if
 * an earlier run moved it; a move starts its resume count afresh), and each move records its event and webhook delivery
 * (the events repository's `EventWrites`) in the same statement as the change it reports.
 * An approval's processor reference is written with the move that records it; a change
 * without one (a capture, a void) leaves the reference as it was.
 */
function settleSql(events: EventWrites, results: ResultStatement): string {
  return `
  WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[],
                         $6::text[], $7::text[], $8::text[])
      AS i(id, from_status, status, capturable, captured, failure_code, failure_message,
           processor_reference)
  ), moved AS (
    UPDATE payments p SET status = i.status,
           amount_capturable = coalesce(i.capturable, p.amount_capturable),
           amount_captured = coalesce(i.captured, p.amount_captured),
           failure_code = i.failure_code, failure_message = i.failure_message, updated_at = now(),
           processor_reference = coalesce(i.processor_reference, p.processor_reference),
           resume_count = 0, resumed_at = NULL
      FROM input i
     WHERE p.id = i.id AND p.status = i.from_status
    RETURNING p.id AS key, p.merchant_id, p.updated_at
  ), ${events.ctes('moved')}, ${results.ctes('moved')}
  SELECT m.key AS id, m.updated_at, ${events.notify()} AS woken, ${results.notify()} AS notified
    FROM moved m`;
}

/**
 * The hot path's writes. Each spans the tables of one step of a payment and runs as one
 * statement: a round trip is the scarce resource here (a payment makes several), and a
 * single statement is atomic without a transaction around it. Both take arrays, so
 * callers may hand over many payments at once.
 */
@Injectable()
export class PaymentWritesRepository {
  private readonly creations = new GroupCommit<PaymentIntake, CreatedPayment>(
    HOT_PATH_GROUP_COMMIT,
    (items) => this.createInOrder(items),
  );
  private readonly settlements = new GroupCommit<Settlement, Date | null>(
    HOT_PATH_GROUP_COMMIT,
    async (items) => {
      const moved = await this.settle(items);
      return items.map((item) => moved.get(item.paymentId) ?? null);
    },
  );

  /** A statement claims a payment once: claims of one payment made together take turns. */
  private readonly claims = new GroupCommit<PaymentClaim, Payment | null>(
    { ...HOT_PATH_GROUP_COMMIT, turnKey: (claim) => claim.paymentId },
    async (claims) => {
      const claimed = await this.claimTurn(claims);
      return claims.map((claim) => claimed.get(claim.paymentId) ?? null);
    },
  );

  constructor(
    private readonly dataSource: DataSource,
    private readonly committed: CommittedOutbox,
  ) {}

  /**
   * Claims a payment for a capture or cancel, in a statement shared with the claims that
   * come at the same time; its task is published right after the commit (the relay's
   * sweep if this process cannot). Null when the payment was not the merchant's, not in
   * `from`, or could not capture the amount: nothing was written.
   */
  claimOne(claim: PaymentClaim): Promise<Payment | null> {
    return this.claims.submit(claim);
  }

  private async claimTurn(claims: readonly PaymentClaim[]): Promise<Map<string, Payment>> {
    const references = IdempotencyReferences.of(
      claims.flatMap((c) => (c.claim ? [{ claim: c.claim, reference: c.paymentId }] : [])),
      6,
    );
    const outbox = OutboxStatement.of(
      claims.map((c) => c.task),
      {
        firstParameter: 6 + references.parameters.length,
        keys: claims.map((c) => c.paymentId),
        sentBy: 'writer',
      },
    );
    const rows = await this.dataSource.query<PaymentRow[]>(
      preparedStatement(claimSql(references, outbox)),
      [
        claims.map((c) => c.paymentId),
        claims.map((c) => c.merchantId),
        claims.map((c) => c.from),
        claims.map((c) => c.to),
        claims.map((c) => c.amountToCapture),
        ...references.parameters,
        ...outbox.parameters,
      ],
    );
    const moved = new Map(rows.map((row) => [row.id, toPayment(row)]));
    // Committed (one statement): the tasks of the payments claimed go out now.
    this.committed.sendCommitted(outbox, new Set(moved.keys()));
    return moved;
  }

  /** Creates one payment, in a statement shared with the requests that come at the same time. */
  createOne(payment: PaymentIntake): Promise<CreatedPayment> {
    return this.creations.submit(payment);
  }

  /**
   * Settles one payment, in a statement shared with concurrent tasks: when it moved, the
   * time of the change; null when it had moved on already.
   */
  settleOne(settlement: Settlement): Promise<Date | null> {
    return this.settlements.submit(settlement);
  }

  private async createInOrder(payments: readonly PaymentIntake[]): Promise<CreatedPayment[]> {
    const { rows, outbox } = await this.create(payments);
    const created = new Map(rows.map((row) => [row.id, row]));
    // Committed: the authorize tasks go out now, not when a relay wakes (it sweeps any
    // this process fails to send); those run in place are kept for a hand-over.
    const published = new Set(payments.filter((p) => !p.inPlace).map((p) => p.id));
    this.committed.sendCommitted(outbox, published);
    const messages = outbox.messages();
    return payments.map((payment) => {
      const row = created.get(payment.id);
      if (!row) throw new Error(`payment ${payment.id} was not created`);
      const message = messages.get(paymentTaskId(payment.id, 'authorize'));
      if (!message) throw new Error(`payment ${payment.id} has no authorize task`);
      const handOver = payment.inPlace
        ? () =>
            this.committed.sendMessages(
              new Map([[paymentTaskId(payment.id, 'authorize'), message]]),
            )
        : null;
      return { payment: toPayment(row), handOver, queue: message.routingKey };
    });
  }

  private async create(
    payments: readonly PaymentIntake[],
  ): Promise<{ rows: PaymentRow[]; outbox: OutboxStatement }> {
    const references = IdempotencyReferences.of(
      payments.flatMap((p) => (p.claim ? [{ claim: p.claim, reference: p.id }] : [])),
      9,
    );
    const outbox = OutboxStatement.of(
      payments.map((p) => {
        const payload: PaymentTaskPayload = { payment_id: p.id };
        return {
          task: PAYMENT_TASK.authorize,
          payload,
          options: { id: paymentTaskId(p.id, 'authorize') },
        };
      }),
      {
        firstParameter: 9 + references.parameters.length,
        keys: payments.map((p) => p.id),
        sentBy: 'writer',
      },
    );
    const rows = await this.dataSource.query<PaymentRow[]>(
      preparedStatement(createSql(references, outbox)),
      [
        payments.map((p) => p.id),
        payments.map((p) => p.merchantId),
        payments.map((p) => p.amount),
        payments.map((p) => p.currency),
        payments.map((p) => p.captureMethod),
        payments.map((p) => p.source),
        payments.map((p) => p.description),
        payments.map((p) => JSON.stringify(p.metadata)),
        ...references.parameters,
        ...outbox.parameters,
      ],
    );
    return { rows, outbox };
  }

  /**
   * Returns the payments that moved, with the time of the change; the others had moved
   * on already. A payment named twice moves once: its later settlements are left out.
   */
  private async settle(all: readonly Settlement[]): Promise<Map<string, Date>> {
    const byPayment = new Map<string, Settlement>();
    for (const settlement of all) {
      if (!byPayment.has(settlement.paymentId)) byPayment.set(settlement.paymentId, settlement);
    }
    const settlements = [...byPayment.values()];
    const events = EventWrites.of(
      settlements.map((s) => ({ key: s.paymentId, type: s.eventType, data: s.eventObject })),
      9,
    );
    const results = ResultStatement.of(
      settlements.flatMap((s) => (s.ran ? [s.ran] : [])),
      9 + events.parameters.length,
    );
    const rows = await this.dataSource.query<{ id: string; updated_at: Date }[]>(
      preparedStatement(settleSql(events, results)),
      [
        settlements.map((s) => s.paymentId),
        settlements.map((s) => s.from),
        settlements.map((s) => s.change.status),
        settlements.map((s) => s.change.amountCapturable?.toString() ?? null),
        settlements.map((s) => s.change.amountCaptured?.toString() ?? null),
        settlements.map((s) => s.change.failureCode ?? null),
        settlements.map((s) => s.change.failureMessage ?? null),
        settlements.map((s) => s.change.processorReference ?? null),
        ...events.parameters,
        ...results.parameters,
      ],
    );
    return new Map(rows.map((row) => [row.id, row.updated_at]));
  }
}
