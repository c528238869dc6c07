import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { MerchantRow } from './merchant.rows';

export interface NewMerchant {
  id: string;
  name: string;
  webhookUrl: string | null;
  webhookSecret: string;
  pricingPercentBps: number;
  pricingFixed: number;
}

const COLUMNS = `id, name, webhook_url, webhook_secret, pricing_percent_bps, pricing_fixed, created_at`;

/** All SQL for merchants. */
@Injectable()
export class MerchantsRepository {
  constructor(private readonly dataSource: DataSource) {}

  async insert(manager: EntityManager, merchant: NewMerchant): Promise<MerchantRow> {
    const rows = await manager.query<MerchantRow[]>(
      `INSERT INTO merchants (id, name, webhook_url, webhook_secret, pricing_percent_bps, pricing_fixed)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
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
    return row;
  }

  /** The merchant, locked for the rest of the transaction (key rolls serialize on it). */
  async lock(manager: EntityManager, id: string): Promise<MerchantRow | undefined> {
    const rows = await manager.query<MerchantRow[]>(
      `SELECT ${COLUMNS} FROM merchants WHERE id = $1 FOR UPDATE`,
      [id],
    );
    return rows[0];
  }

  async find(id: string, manager?: EntityManager): Promise<MerchantRow | undefined> {
    const rows = await (manager ?? this.dataSource).query<MerchantRow[]>(
      `SELECT ${COLUMNS} FROM merchants WHERE id = $1`,
      [id],
    );
    return rows[0];
  }
}
