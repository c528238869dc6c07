import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { GroupCommit } from '@clearline/persistence';
import { HOT_PATH_GROUP_COMMIT } from '../batching/hot-path';
import { paginate, type ListQuery, type Page } from '../http/pagination';
import type { CaptureMethod } from './payment.dto';
import type { PaymentRow, PaymentState } from './payment.rows';

export const PAYMENT_COLUMNS = `id, merchant_id, amount, currency, status, capture_method, amount_capturable,
  amount_captured, amount_refunded, source, description, metadata, failure_code,
  failure_message, created_at`;

type Queryable = Pick<EntityManager, 'query'>;
/** TypeORM answers UPDATE … RETURNING with `[rows, affected]`. */
type Updated = [PaymentRow[], number];

export interface NewPayment {
  id: string;
  merchantId: string;
  amount: number;
  currency: string;
  captureMethod: CaptureMethod;
  source: string;
  description: string | null;
  metadata: Record<string, string>;
}

/** What a status change writes besides the status; absent amounts are left as they are. */
export interface PaymentChange {
  status: PaymentState;
  amountCapturable?: bigint;
  amountCaptured?: bigint;
  failureCode?: string;
  failureMessage?: string;
}

/** All SQL for payments. Every read for a merchant is filtered by the merchant. */
@Injectable()
export class PaymentsRepository {
  /** Concurrent lookups by id share one query (the payment tasks' first read). */
  private readonly lookups = new GroupCommit<string, PaymentRow | undefined>(
    HOT_PATH_GROUP_COMMIT,
    async (ids) => {
      const rows = await this.dataSource.query<PaymentRow[]>(
        `SELECT ${PAYMENT_COLUMNS} FROM payments WHERE id = ANY($1::text[])`,
        [ids],
      );
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => byId.get(id));
    },
  );

  constructor(private readonly dataSource: DataSource) {}

  /** `findById`, in a query shared with the lookups that come at the same time. */
  findByIdShared(id: string): Promise<PaymentRow | undefined> {
    return this.lookups.submit(id);
  }

  async find(
    merchantId: string,
    id: string,
    db: Queryable = this.dataSource,
  ): Promise<PaymentRow | undefined> {
    const rows = await db.query<PaymentRow[]>(
      `SELECT ${PAYMENT_COLUMNS} FROM payments WHERE merchant_id = $1 AND id = $2`,
      [merchantId, id],
    );
    return rows[0];
  }

  /** For the payment tasks, which know the payment id only. */
  async findById(id: string, db: Queryable = this.dataSource): Promise<PaymentRow | undefined> {
    const rows = await db.query<PaymentRow[]>(
      `SELECT ${PAYMENT_COLUMNS} FROM payments WHERE id = $1`,
      [id],
    );
    return rows[0];
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
  ): Promise<PaymentRow | undefined> {
    const [rows] = await manager.query<Updated>(
      `UPDATE payments SET status = $4, updated_at = now()
        WHERE merchant_id = $1 AND id = $2 AND status = $3
          AND ($5::bigint IS NULL OR amount_capturable >= $5::bigint)
        RETURNING ${PAYMENT_COLUMNS}`,
      [merchantId, id, transition.from, transition.to, transition.amountMax ?? null],
    );
    return rows[0];
  }

  list(merchantId: string, query: ListQuery): Promise<Page<PaymentRow>> {
    return paginate<PaymentRow>(
      this.dataSource,
      {
        table: 'payments',
        columns: PAYMENT_COLUMNS,
        where: { merchant_id: merchantId },
        objectName: 'payment',
      },
      query,
    );
  }
}
