import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import {
  GroupCommit,
  paginate,
  type Page,
  type PageRequest,
  preparedStatement,
} from '@clearline/persistence';
import { HOT_PATH_GROUP_COMMIT } from '../batching/hot-path';
import type { Payment, PaymentState, RefundablePayment } from './payment.model';
import {
  PAYMENT_COLUMNS,
  toPayment,
  toRefundablePayment,
  type PaymentRow,
  type RefundablePaymentRow,
} from './payment.rows';

type Queryable = Pick<EntityManager, 'query'>;
/** TypeORM answers UPDATE … RETURNING with `[rows, affected]`. */
type Updated = [PaymentRow[], number];

/**
 * A CTE for the statement that ends refunds (the refunds repository's): `source` yields
 * `(payment_id, amount, status)` of each refund that ended, and its payment's
 * reservation is settled: the amount moves to `amount_refunded` if the refund succeeded,
 * and is freed either way. Refunds of one payment that end in one statement are summed
 * first: an UPDATE … FROM changes a row once, whatever number of source rows match it.
 * With `reserveRefunds`, the only code that writes the refund columns of `payments`.
 */
export function settleRefundReservations(source: string): string {
  return `refund_reservations AS (
    UPDATE payments p
       SET amount_refund_reserved = p.amount_refund_reserved - s.reserved,
           amount_refunded = p.amount_refunded + s.refunded,
           updated_at = now()
      FROM (SELECT payment_id, sum(amount)::bigint AS reserved,
                   sum(CASE WHEN status = 'succeeded' THEN amount ELSE 0 END)::bigint AS refunded
              FROM ${source} GROUP BY payment_id) s
     WHERE p.id = s.payment_id
  )`;
}

/**
 * A CTE for the statement that opens refunds (the refunds repository's): `source` yields
 * `(payment_id, merchant_id, amount)`, at most one row per payment, and the amount is
 * reserved on each payment of the merchant that is captured and still covers it
 * (captured − refunded − reserved ≥ amount). A payment that no longer does (a refund
 * reserved meanwhile) is left as it is: `refund_reservations_made` returns the payment
 * ids reserved, and a caller that read the payment without a lock reads it again. The
 * condition is checked again on the row's newest version when the UPDATE waited for it,
 * so concurrent refunds never reserve more than was captured; the table's CHECK,
 * refunded + reserved <= captured, is the last line of defence.
 */
export function reserveRefunds(source: string): string {
  return `refund_reservations_made AS (
    UPDATE payments p
       SET amount_refund_reserved = p.amount_refund_reserved + s.amount, updated_at = now()
      FROM ${source} s
     WHERE p.id = s.payment_id AND p.merchant_id = s.merchant_id AND p.status = 'succeeded'
       AND p.amount_captured - p.amount_refunded - p.amount_refund_reserved >= s.amount
    RETURNING p.id
  )`;
}

/**
 * The reads of payments, the claims of capture and cancel, and the refund reservations
 * (the settlements of the payment tasks are in `PaymentWritesRepository`). Every read for
 * a merchant is filtered by the merchant.
 */
@Injectable()
export class PaymentsRepository {
  /**
   * Concurrent lookups by id share one query: the payment tasks' first read, a capture's
   * or cancel's, and a refund's (which also wants what pending refunds reserve).
   */
  private readonly lookups = new GroupCommit<string, RefundablePayment | undefined>(
    HOT_PATH_GROUP_COMMIT,
    async (ids) => {
      const rows = await this.dataSource.query<RefundablePaymentRow[]>(
        preparedStatement(
          `SELECT ${PAYMENT_COLUMNS}, amount_refund_reserved FROM payments WHERE id = ANY($1::text[])`,
        ),
        [ids],
      );
      const byId = new Map(rows.map((row) => [row.id, toRefundablePayment(row)]));
      return ids.map((id) => byId.get(id));
    },
  );

  constructor(private readonly dataSource: DataSource) {}

  /**
   * The merchant's payment with what its pending refunds reserve, without a lock, in a
   * query shared with the reads that come at the same time: what a refund decides from
   * before `reserveRefunds` checks it again under the row's lock.
   */
  async findRefundableShared(
    merchantId: string,
    id: string,
  ): Promise<RefundablePayment | undefined> {
    const payment = await this.lookups.submit(id);
    return payment?.merchantId === merchantId ? payment : undefined;
  }

  /** `findById`, in a query shared with the lookups that come at the same time. */
  findByIdShared(id: string): Promise<Payment | undefined> {
    return this.lookups.submit(id);
  }

  async find(
    merchantId: string,
    id: string,
    db: Queryable = this.dataSource,
  ): Promise<Payment | undefined> {
    const rows = await db.query<PaymentRow[]>(
      preparedStatement(
        `SELECT ${PAYMENT_COLUMNS} FROM payments WHERE merchant_id = $1 AND id = $2`,
      ),
      [merchantId, id],
    );
    return rows[0] && toPayment(rows[0]);
  }

  /** For the payment tasks, which know the payment id only. */
  async findById(id: string): Promise<Payment | undefined> {
    const rows = await this.dataSource.query<PaymentRow[]>(
      preparedStatement(`SELECT ${PAYMENT_COLUMNS} FROM payments WHERE id = $1`),
      [id],
    );
    return rows[0] && toPayment(rows[0]);
  }

  /**
   * A merchant's claim on its payment for a capture or cancel: `from` → `to` only if the
   * payment is in `from` and can still capture `amountMax` (when given). One statement,
   * so two requests cannot both claim it. It records what a capture asks for
   * (`amount_to_capture`, for the sweeper to resume it) and starts the resume count afresh.
   */
  async claim(
    manager: EntityManager,
    merchantId: string,
    id: string,
    transition: { from: PaymentState; to: PaymentState; amountMax?: number },
  ): Promise<Payment | undefined> {
    const [rows] = await manager.query<Updated>(
      preparedStatement(`UPDATE payments SET status = $4, updated_at = now(), resume_count = 0, resumed_at = NULL,
              amount_to_capture = CASE WHEN $4 = 'capturing'
                                       THEN coalesce($5::bigint, amount_capturable) END
        WHERE merchant_id = $1 AND id = $2 AND status = $3
          AND ($5::bigint IS NULL OR amount_capturable >= $5::bigint)
        RETURNING ${PAYMENT_COLUMNS}`),
      [merchantId, id, transition.from, transition.to, transition.amountMax ?? null],
    );
    return rows[0] && toPayment(rows[0]);
  }

  /**
   * Locks the merchant's payment for a refund decision: concurrent refunds of one
   * payment queue here, and each sees what the ones before it reserved.
   */
  async lockForRefund(
    manager: EntityManager,
    merchantId: string,
    id: string,
  ): Promise<RefundablePayment | undefined> {
    const rows = await manager.query<RefundablePaymentRow[]>(
      preparedStatement(`SELECT ${PAYMENT_COLUMNS}, amount_refund_reserved
         FROM payments WHERE merchant_id = $1 AND id = $2 FOR UPDATE`),
      [merchantId, id],
    );
    return rows[0] && toRefundablePayment(rows[0]);
  }

  /** A page of the merchant's payments, newest first. */
  async list(merchantId: string, request: PageRequest): Promise<Page<Payment>> {
    const page = await paginate<PaymentRow>(
      this.dataSource,
      { table: 'payments', columns: PAYMENT_COLUMNS, where: { merchant_id: merchantId } },
      request,
    );
    return { items: page.items.map(toPayment), hasMore: page.hasMore };
  }
}
