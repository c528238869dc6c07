import { preparedStatement } from '@clearline/persistence';
import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { Merchant } from './merchant.model';
import { toMerchant, type MerchantRow } from './merchant.rows';

export interface NewMerchant {
  id: string;
  name: string;
  webhookUrl: string | null;
  webhookSecret: string;
  pricingPercentBps: number;
  pricingFixed: number;
}

/** The fields an update may change; an absent one keeps its value. */
export interface MerchantChanges {
  name?: string;
  /** Null removes the URL. */
  webhookUrl?: string | null;
}

/** TypeORM answers UPDATE … RETURNING with `[rows, affected]`. */
type Updated<Row> = [Row[], number];

const COLUMNS = `id, name, webhook_url, webhook_secret, previous_webhook_secret,
  previous_webhook_secret_expires_at, pricing_percent_bps, pricing_fixed, created_at`;

/** All SQL for merchants. */
@Injectable()
export class MerchantsRepository {
  constructor(private readonly dataSource: DataSource) {}

  async insert(manager: EntityManager, merchant: NewMerchant): Promise<Merchant> {
    const rows = await manager.query<MerchantRow[]>(
      preparedStatement(`INSERT INTO merchants (id, name, webhook_url, webhook_secret, pricing_percent_bps, pricing_fixed)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`),
      [
        merchant.id,
        merchant.name,
        merchant.webhookUrl,
        merchant.webhookSecret,
        merchant.pricingPercentBps,
        merchant.pricingFixed,
      ],
    );
    const [row] = rows;
    if (!row) throw new Error('INSERT … RETURNING gave no row');
    return toMerchant(row);
  }

  /** The merchant, locked for the rest of the transaction (key rolls serialize on it). */
  async lock(manager: EntityManager, id: string): Promise<Merchant | undefined> {
    const rows = await manager.query<MerchantRow[]>(
      preparedStatement(`SELECT ${COLUMNS} FROM merchants WHERE id = $1 FOR UPDATE`),
      [id],
    );
    return rows[0] && toMerchant(rows[0]);
  }

  /**
   * Replaces the webhook secret. The current one becomes the previous, signing too until
   * `previousForMs` from now, or is dropped at once when that is 0; a previous one still
   * kept from an earlier roll is dropped either way. Undefined when there is no such
   * merchant.
   */
  async rollWebhookSecret(
    manager: EntityManager,
    id: string,
    secret: string,
    previousForMs: number,
  ): Promise<Merchant | undefined> {
    const [rows] = await manager.query<Updated<MerchantRow>>(
      preparedStatement(`UPDATE merchants
          SET previous_webhook_secret = CASE WHEN $3::bigint > 0 THEN webhook_secret END,
              previous_webhook_secret_expires_at =
                CASE WHEN $3::bigint > 0 THEN now() + $3::bigint * interval '1 millisecond' END,
              webhook_secret = $2
        WHERE id = $1
       RETURNING ${COLUMNS}`),
      [id, secret, previousForMs],
    );
    return rows[0] && toMerchant(rows[0]);
  }

  /** Applies the changes in one statement; undefined when there is no such merchant. */
  async update(id: string, changes: MerchantChanges): Promise<Merchant | undefined> {
    const [rows] = await this.dataSource.query<Updated<MerchantRow>>(
      preparedStatement(`UPDATE merchants
          SET name        = CASE WHEN $2::boolean THEN $3::text ELSE name END,
              webhook_url = CASE WHEN $4::boolean THEN $5::text ELSE webhook_url END
        WHERE id = $1
       RETURNING ${COLUMNS}`),
      [
        id,
        changes.name !== undefined,
        changes.name ?? null,
        changes.webhookUrl !== undefined,
        changes.webhookUrl ?? null,
      ],
    );
    return rows[0] && toMerchant(rows[0]);
  }

  async find(id: string): Promise<Merchant | undefined> {
    const rows = await this.dataSource.query<MerchantRow[]>(
      preparedStatement(`SELECT ${COLUMNS} FROM merchants WHERE id = $1`),
      [id],
    );
    return rows[0] && toMerchant(rows[0]);
  }
}
