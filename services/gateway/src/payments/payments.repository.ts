import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { GroupCommit, paginate, type Page, type PageRequest } from '@clearline/persistence';
import { HOT_PATH_GROUP_COMMIT } from '../batching/hot-path';
import type { Payment, PaymentState } from './payment.model';
import { PAYMENT_COLUMNS, toPayment, type PaymentRow } from './payment.rows';

type Queryable = Pick<EntityManager, 'query'>;
/** TypeORM answers UPDATE … RETURNING with `[rows, affected]`. */
type Updated = [PaymentRow[], number];

/** All reads of payments, and the claims of capture and cancel. Every read for a merchant is filtered by the merchant. */
@Injectable()
export class PaymentsRepository {
  /** Concurrent lookups by id share one query (the payment tasks' first read). */
  private readonly lookups = new GroupCommit<string, Payment | undefined>(
    HOT_PATH_GROUP_COMMIT,
    async (ids) => {
      const rows = await this.dataSource.query<PaymentRow[]>(
        `SELECT ${PAYMENT_COLUMNS} FROM payments WHERE id = ANY($1::text[])`,
        [ids],
      );
      const byId = new Map(rows.map((row) => [row.id, toPayment(row)]));
      return ids.map((id) => byId.get(id));
    },
  );

  constructor(private readonly dataSource: DataSource) {}

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
      `SELECT ${PAYMENT_COLUMNS} FROM payments WHERE merchant_id = $1 AND id = $2`,
      [merchantId, id],
    );
    return rows[0] && toPayment(rows[0]);
  }

  /** For the payment tasks, which know the payment id only. */
  async findById(id: string): Promise<Payment | undefined> {
    const rows = await this.dataSource.query<PaymentRow[]>(
      `SELECT ${PAYMENT_COLUMNS} FROM payments WHERE id = $1`,
      [id],
    );
    return rows[0] && toPayment(rows[0]);
  }

  /**
   * A merchant's claim on its payment for a capture or cancel: `from` → `to` only if the
   * payment is in `from` and can still capture `amountMax` (when given). One statement,
   * so two requests cannot both claim it.
   */
  async claim(
    manager: EntityManager,
    merchantId: string,
    id: string,
    transition: { from: PaymentState; to: PaymentState; amountMax?: number },
  ): Promise<Payment | undefined> {
    const [rows] = await manager.query<Updated>(
      `UPDATE payments SET status = $4, updated_at = now()
        WHERE merchant_id = $1 AND id = $2 AND status = $3
          AND ($5::bigint IS NULL OR amount_capturable >= $5::bigint)
        RETURNING ${PAYMENT_COLUMNS}`,
      [merchantId, id, transition.from, transition.to, transition.amountMax ?? null],
    );
    return rows[0] && toPayment(rows[0]);
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
