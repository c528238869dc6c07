import { Injectable } from '@nestjs/common';
import type { Page, PageRequest } from '@clearline/persistence';
import type { EntityManager } from 'typeorm';
import type { DeliveredEvent, Event, WebhookAttempt } from './event.model';
import { EventError } from './events.exception';
import { EventsRepository } from './events.repository';
import { WebhookAttemptsRepository } from './webhook-attempts.repository';

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
  ): Promise<Event> {
    const [event] = await this.events.record(manager, merchantId, [{ type, data: dataObject }]);
    if (!event) throw new Error('recording an event returned no row');
    return event;
  }

  /**
   * Records the event `id` (derived by the caller from what caused it) unless it was
   * recorded before, as `record` does otherwise: null when it already was, so a
   * redelivered or repeated cause records and delivers nothing new.
   */
  async recordOnce(
    manager: EntityManager,
    merchantId: string,
    event: { id: string; type: string; dataObject: unknown },
  ): Promise<Event | null> {
    const [recorded] = await this.events.record(manager, merchantId, [
      { id: event.id, type: event.type, data: event.dataObject },
    ]);
    return recorded ?? null;
  }

  async retrieve(merchantId: string, id: string): Promise<DeliveredEvent> {
    const event = await this.events.find(merchantId, id);
    if (!event) throw EventError.notFound(id);
    return { ...event, deliveryAttempts: await this.attempts.forEvents([event.id]) };
  }

  /** The merchant's events (of one type, when `type` is given), newest first, with their attempts. */
  async list(
    merchantId: string,
    request: PageRequest,
    type: string | null,
  ): Promise<Page<DeliveredEvent>> {
    const page = await this.events.list(merchantId, request, type);
    const attempts = await this.attempts.forEvents(page.items.map((event) => event.id));
    const byEvent = new Map<string, WebhookAttempt[]>();
    for (const attempt of attempts) {
      const list = byEvent.get(attempt.eventId) ?? [];
      list.push(attempt);
      byEvent.set(attempt.eventId, list);
    }
    return {
      items: page.items.map((event) => ({
        ...event,
        deliveryAttempts: byEvent.get(event.id) ?? [],
      })),
      hasMore: page.hasMore,
    };
  }
}
