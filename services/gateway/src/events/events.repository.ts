import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { paginate, type ListQuery, type Page } from '../http/pagination';
import type { EventRow } from './event.rows';

const COLUMNS = 'id, merchant_id, type, data, created_at';

/** All SQL for events. Every read is filtered by the owning merchant. */
@Injectable()
export class EventsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Inserts the event; says whether its merchant has a webhook URL to deliver it to. */
  async insert(
    manager: EntityManager,
    event: { id: string; merchantId: string; type: string; data: unknown },
  ): Promise<{ row: EventRow; hasWebhook: boolean }> {
    const rows = await manager.query<(EventRow & { has_webhook: boolean | null })[]>(
      `INSERT INTO events (id, merchant_id, type, data) VALUES ($1, $2, $3, $4::jsonb)
       RETURNING ${COLUMNS},
         (SELECT webhook_url IS NOT NULL FROM merchants WHERE id = $2) AS has_webhook`,
      [event.id, event.merchantId, event.type, JSON.stringify({ object: event.data })],
    );
    const [row] = rows;
    if (!row) throw new Error('INSERT … RETURNING gave no row');
    const { has_webhook: hasWebhook, ...eventRow } = row;
    return { row: eventRow, hasWebhook: hasWebhook === true };
  }

  async find(merchantId: string, id: string): Promise<EventRow | undefined> {
    const rows = await this.dataSource.query<EventRow[]>(
      `SELECT ${COLUMNS} FROM events WHERE merchant_id = $1 AND id = $2`,
      [merchantId, id],
    );
    return rows[0];
  }

  /** For webhook delivery, which knows the event id only. */
  async findById(id: string): Promise<EventRow | undefined> {
    const rows = await this.dataSource.query<EventRow[]>(
      `SELECT ${COLUMNS} FROM events WHERE id = $1`,
      [id],
    );
    return rows[0];
  }

  list(merchantId: string, query: ListQuery & { type?: string }): Promise<Page<EventRow>> {
    const where: Record<string, string> = { merchant_id: merchantId };
    if (query.type !== undefined) where['type'] = query.type;
    return paginate<EventRow>(
      this.dataSource,
      { table: 'events', columns: COLUMNS, where, objectName: 'event' },
      query,
    );
  }
}
