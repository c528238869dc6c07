import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { GatewayError } from '../http/gateway.exception';
import { ListObject } from '../http/pagination';
import type { EventDto, ListEventsQuery } from './event.dto';
import { toEventDto } from './event.mapper';
import type { EventRow, WebhookAttemptRow } from './event.rows';
import { EventsRepository } from './events.repository';
import { WebhookAttemptsRepository } from './webhook-attempts.repository';

export const EVENTS_URL = '/v1/events';

/** What happened to a merchant's objects, and the webhooks that tell the merchant. */
@Injectable()
export class EventsService {
  constructor(
    private readonly events: EventsRepository,
    private readonly attempts: WebhookAttemptsRepository,
  ) {}

  /**
   * Records an event in the caller's transaction (the one that made the change it
   * reports) and, if the merchant has a webhook URL, the outbox task that delivers it:
   * an event exists exactly when its change committed, and is delivered only then.
   */
  async record(
    manager: EntityManager,
    merchantId: string,
    type: string,
    dataObject: unknown,
  ): Promise<EventRow> {
    const [row] = await this.events.record(manager, merchantId, [{ type, data: dataObject }]);
    if (!row) throw new Error('recording an event returned no row');
    return row;
  }

  async retrieve(merchantId: string, id: string): Promise<EventDto> {
    const row = await this.events.find(merchantId, id);
    if (!row) throw GatewayError.notFound('event', id);
    return toEventDto(row, await this.attempts.forEvents([row.id]));
  }

  async list(merchantId: string, query: ListEventsQuery): Promise<ListObject<EventDto>> {
    const page = await this.events.list(merchantId, query);
    const attempts = await this.attempts.forEvents(page.rows.map((row) => row.id));
    const byEvent = new Map<string, WebhookAttemptRow[]>();
    for (const attempt of attempts) {
      const list = byEvent.get(attempt.event_id) ?? [];
      list.push(attempt);
      byEvent.set(attempt.event_id, list);
    }
    const data = page.rows.map((row) => toEventDto(row, byEvent.get(row.id) ?? []));
    return new ListObject(EVENTS_URL, data, page.hasMore);
  }
}
