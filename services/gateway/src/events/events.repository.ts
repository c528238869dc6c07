import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { paginate, type Page, type PageRequest, preparedStatement } from '@clearline/persistence';
import { OutboxStatement } from '@clearline/tasks';
import { newId } from '@clearline/contracts';
import { DELIVER_WEBHOOK_TASK, type DeliverWebhookPayload } from '../webhooks/webhook.task';
import type { Event } from './event.model';
import { toEvent, type EventRow } from './event.rows';

const COLUMNS = 'id, merchant_id, type, data, created_at';

/** An event to record: what happened (`type`) to which object (`data`, the API object). */
export interface NewEvent {
  type: string;
  data: unknown;
  /**
   * The event's id when it derives from what caused it (a task redelivered or sent again
   * records nothing new: an id already recorded is skipped); a new random id otherwise.
   */
  id?: string;
}

/**
 * Statement parts that record events and their webhook deliveries, for a statement
 * that makes the change the events report: `EventsService.record`'s contract,
 * set-based. Each event is paired with a `key`; the caller's CTE `source` yields
 * `(key, merchant_id)` for the changes that happened, and exactly those get their event
 * and, when the merchant has a webhook URL, a `gateway.deliver_webhook` outbox task.
 *
 * This is the only code that writes `events`.
 */
export class EventWrites {
  private constructor(
    readonly parameters: unknown[],
    private readonly firstParameter: number,
    private readonly outbox: OutboxStatement,
  ) {}

  /** Parameters numbered from `firstParameter`; event ids are made here unless given. */
  static of(events: readonly (NewEvent & { key: string })[], firstParameter: number): EventWrites {
    const ids = events.map((event) => event.id ?? newId('evt'));
    const outbox = OutboxStatement.of(
      ids.map((id) => {
        const payload: DeliverWebhookPayload = { event_id: id };
        return { task: DELIVER_WEBHOOK_TASK, payload };
      }),
      { firstParameter: firstParameter + 4, keys: ids },
    );
    const parameters = [
      events.map((e) => e.key),
      ids,
      events.map((e) => e.type),
      events.map((e) => JSON.stringify({ object: e.data })),
      ...outbox.parameters,
    ];
    return new EventWrites(parameters, firstParameter, outbox);
  }

  /**
   * CTEs to follow the caller's (`WITH …, <source>, ${ctes(source)}`): `recorded_events`
   * (RETURNING the events' columns) and `event_webhooks`.
   */
  ctes(source: string): string {
    const n = this.firstParameter;
    return `event_input AS (
      SELECT * FROM unnest($${n}::text[], $${n + 1}::text[], $${n + 2}::text[], $${n + 3}::jsonb[])
        AS e(key, id, type, data)
    ), recorded_events AS (
      INSERT INTO events (id, merchant_id, type, data)
      SELECT e.id, s.merchant_id, e.type, e.data FROM ${source} s JOIN event_input e ON e.key = s.key
      ON CONFLICT (id) DO NOTHING
      RETURNING ${COLUMNS}
    ), event_webhooks AS (
      ${this.outbox.insert(
        `${this.outbox.rows('o')} JOIN recorded_events r ON r.id = o.key
          JOIN merchants m ON m.id = r.merchant_id WHERE m.webhook_url IS NOT NULL`,
      )}
    )`;
  }

  /** For the statement's final SELECT: wakes the outbox relay if a delivery was queued. */
  notify(): string {
    return this.outbox.notifyAfter('event_webhooks');
  }
}

/** All SQL for events. Every read is filtered by the owning merchant. */
@Injectable()
export class EventsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Records events of one merchant in the caller's transaction (see {@link EventWrites}). */
  async record(
    manager: EntityManager,
    merchantId: string,
    events: readonly NewEvent[],
  ): Promise<Event[]> {
    const keyed = events.map((event, i) => ({ ...event, key: String(i) }));
    const writes = EventWrites.of(keyed, 3);
    const rows = await manager.query<(EventRow & { woken: unknown })[]>(
      preparedStatement(`WITH source AS (SELECT key, $2::text AS merchant_id FROM unnest($1::text[]) AS k(key)),
            ${writes.ctes('source')}
       SELECT ${COLUMNS}, ${writes.notify()} AS woken FROM recorded_events`),
      [keyed.map((e) => e.key), merchantId, ...writes.parameters],
    );
    return rows.map((row) => toEvent(row));
  }

  async find(merchantId: string, id: string): Promise<Event | undefined> {
    const rows = await this.dataSource.query<EventRow[]>(
      preparedStatement(`SELECT ${COLUMNS} FROM events WHERE merchant_id = $1 AND id = $2`),
      [merchantId, id],
    );
    return rows[0] && toEvent(rows[0]);
  }

  /** For webhook delivery, which knows the event id only. */
  async findById(id: string): Promise<Event | undefined> {
    const rows = await this.dataSource.query<EventRow[]>(
      preparedStatement(`SELECT ${COLUMNS} FROM events WHERE id = $1`),
      [id],
    );
    return rows[0] && toEvent(rows[0]);
  }

  /** A page of the merchant's events (of one type, when `type` is given), newest first. */
  async list(merchantId: string, request: PageRequest, type: string | null): Promise<Page<Event>> {
    const where: Record<string, string> = { merchant_id: merchantId };
    if (type !== null) where['type'] = type;
    const page = await paginate<EventRow>(
      this.dataSource,
      { table: 'events', columns: COLUMNS, where },
      request,
    );
    return { items: page.items.map(toEvent), hasMore: page.hasMore };
  }
}
