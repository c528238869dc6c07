import { Logger } from '@nestjs/common';
import type { Channel, ChannelModel, Message } from 'amqplib';
import { Counter } from 'prom-client';
import {
  celeryEvent,
  clientNodename,
  EVENT_EXCHANGE,
  EVENT_EXCHANGE_OPTIONS,
  eventRoutingKey,
  taskSentFields,
  type CeleryEvent,
  type SentRoute,
} from './celery-events';
import { PIDBOX_EXCHANGE_OPTIONS } from './celery-pidbox';

/** Why an event or a remote-control reply was not published. */
export type DropReason = 'no-channel' | 'broker-blocked' | 'buffer-full';

/** The monitoring side's metrics, in the process's default Prometheus registry. */
export const celeryMetrics = {
  published: new Counter({
    name: 'clearline_celery_events_total',
    help: 'Celery monitoring events published (celeryev), by event type',
    labelNames: ['type'],
  }),
  unheard: new Counter({
    name: 'clearline_celery_events_unheard_total',
    help: 'Celery monitoring events the broker returned because no monitor listens (celeryev has no binding for them); task events are then not built until the next probe',
  }),
  dropped: new Counter({
    name: 'clearline_celery_events_dropped_total',
    help: 'Celery monitoring events and remote-control replies dropped rather than delay a task: no-channel (not connected), broker-blocked (the broker blocked the connection), buffer-full (the socket write buffer was full)',
    labelNames: ['reason'],
  }),
};

/** The most events waiting for a flush; more are dropped and counted (never a growing queue). */
const PENDING_EVENTS_MAX = 10_000;
/**
 * While no monitor listens, task events are not built, except one every this often: the
 * probe that finds a monitor which started listening (Celery's heartbeat interval, so a
 * new monitor sees task events about as soon as it sees the worker).
 */
export const UNHEARD_PROBE_MS = 2_000;

/**
 * Publishes Celery's monitoring events, and the answers to Celery's remote control, on
 * a channel of the publishing connection without publisher confirms. Nothing here is
 * awaited on a task's path and nothing can fail a task: while the broker blocks the
 * connection, the socket's write buffer is full or there is no channel, a message is
 * dropped and counted (`clearline_celery_events_dropped_total`), never held.
 *
 * On the publishing connection, not the consuming one: a connection that publishes can
 * be blocked by the broker's memory alarm, and a blocked consuming connection would
 * also hold the acknowledgements of tasks (Celery, too, sends events on a connection of
 * its own).
 */
export class CeleryEventPublisher {
  private readonly logger = new Logger(CeleryEventPublisher.name);
  private channel: Channel | null = null;
  private brokerBlocked = false;
  private bufferFull = false;
  /** Reply exchanges this channel declared (kombu declares one before replying). */
  private readonly replyExchanges = new Set<string>();
  private readonly attachListeners: (() => void)[] = [];
  /**
   * Whether a monitor may be listening. Events leave `mandatory`: the broker returns one
   * that no queue is bound for (no Flower, no `celery events`), and until a later probe
   * is not returned, task events are not even built — they cost a busy worker a large
   * share of its CPU for nobody. Starts true: a monitor that was there first hears all.
   */
  private heard = true;
  private probedAtMs = 0;

  /**
   * On every (re)connection: opens the channel and declares the event exchange as Celery
   * does. A failure is logged and leaves monitoring off until the next connection; it
   * never fails the connection's set-up (tasks matter more than their events).
   */
  async attach(model: ChannelModel): Promise<void> {
    let channel: Channel | null = null;
    try {
      channel = await model.createChannel();
      channel.on('error', (error: Error) =>
        this.logger.warn(`Celery events channel error: ${error.message}`),
      );
      const opened = channel;
      opened.on('close', () => {
        if (this.channel === opened) this.channel = null;
      });
      opened.on('drain', () => {
        this.bufferFull = false;
      });
      opened.on('return', (message: Message) => this.onReturn(message));
      await opened.assertExchange(EVENT_EXCHANGE, 'topic', EVENT_EXCHANGE_OPTIONS);
    } catch (error) {
      this.logger.warn(`Celery events are off until the next connection: ${String(error)}`);
      await channel?.close().catch(() => undefined);
      return;
    }
    model.on('blocked', () => {
      this.brokerBlocked = true;
    });
    model.on('unblocked', () => {
      this.brokerBlocked = false;
    });
    this.brokerBlocked = false;
    this.bufferFull = false;
    this.replyExchanges.clear();
    this.channel = channel;
    for (const listener of this.attachListeners) listener();
  }

  /**
   * Whether task events are worth building now: a monitor may be listening. While none
   * does, true once per UNHEARD_PROBE_MS — that event is the probe: until the broker
   * returns it, events flow again.
   */
  wanted(): boolean {
    if (this.heard) return true;
    const now = Date.now();
    if (now - this.probedAtMs < UNHEARD_PROBE_MS) return false;
    this.probedAtMs = now;
    this.heard = true;
    return true;
  }

  /** A monitor asked for events (`celery control enable_events`, as Flower does): build them again. */
  expectListeners(): void {
    this.heard = true;
  }

  private onReturn(message: Message): void {
    if (message.fields.exchange !== EVENT_EXCHANGE) return;
    celeryMetrics.unheard.inc();
    if (this.heard) {
      this.heard = false;
      this.probedAtMs = Date.now();
    }
  }

  /** Runs `listener` each time a channel is ready (a worker says it is online). */
  onAttach(listener: () => void): () => void {
    this.attachListeners.push(listener);
    return () => {
      const index = this.attachListeners.indexOf(listener);
      if (index >= 0) this.attachListeners.splice(index, 1);
    };
  }

  /** Events waiting for this turn's flush. */
  private pending: CeleryEvent[] = [];

  get ready(): boolean {
    return this.channel !== null;
  }

  /**
   * Queues one event for the next flush, or drops and counts it; never throws, never
   * waits. Events of one turn of the event loop leave together, as Celery's dispatcher
   * groups them (`task.multi`: one message with a list of events, which Celery's receiver
   * and Flower read as they read single ones): a task's received, started and succeeded
   * events cost the broker one message instead of three.
   */
  publishEvent(event: CeleryEvent): void {
    if (this.pending.length >= PENDING_EVENTS_MAX) {
      celeryMetrics.dropped.inc({ reason: 'buffer-full' });
      return;
    }
    this.pending.push(event);
    if (this.pending.length === 1) setImmediate(() => this.flush());
  }

  /** Sends the queued events: alone as themselves, or grouped by kind (`task`, `worker`). */
  private flush(): void {
    const events = this.pending;
    this.pending = [];
    const groups = new Map<string, CeleryEvent[]>();
    for (const event of events) {
      const group = event.type.split('-', 1)[0] ?? event.type;
      const list = groups.get(group);
      if (list) list.push(event);
      else groups.set(group, [event]);
    }
    for (const [group, list] of groups) {
      const [first] = list;
      if (first === undefined) continue;
      const single = list.length === 1;
      const sent = this.send(
        EVENT_EXCHANGE,
        single ? eventRoutingKey(first.type) : `${group}.multi`,
        single ? first : list,
        { hostname: first.hostname },
      );
      if (sent) for (const event of list) celeryMetrics.published.inc({ type: event.type });
    }
  }

  /**
   * `task-sent` for a task this process published, from its client node name
   * (`gen<pid>@<host>`), as a Celery client with `task_send_sent_event` sends it.
   */
  taskSent(headers: Record<string, unknown>, route: SentRoute): void {
    if (!this.wanted()) return;
    const fields = taskSentFields(headers, route);
    if (fields) this.publishEvent(celeryEvent('task-sent', clientNodename(), fields));
  }

  /**
   * Sends a remote-control answer to the requester's reply exchange (declared first, as
   * kombu does, so a reply never names an exchange that is not there: that would close
   * the channel). Resolves once it is written or dropped; never rejects.
   */
  async publishReply(
    exchange: string,
    routingKey: string,
    body: unknown,
    headers: Record<string, unknown>,
  ): Promise<void> {
    const channel = this.channel;
    if (!channel) {
      celeryMetrics.dropped.inc({ reason: 'no-channel' });
      return;
    }
    try {
      if (!this.replyExchanges.has(exchange)) {
        await channel.assertExchange(exchange, 'direct', PIDBOX_EXCHANGE_OPTIONS);
        this.replyExchanges.add(exchange);
      }
    } catch (error) {
      this.logger.warn(`remote-control reply not sent: ${String(error)}`);
      return;
    }
    this.send(exchange, routingKey, body, headers);
  }

  private send(
    exchange: string,
    routingKey: string,
    body: unknown,
    headers: Record<string, unknown>,
  ): boolean {
    const channel = this.channel;
    const reason: DropReason | null = !channel
      ? 'no-channel'
      : this.brokerBlocked
        ? 'broker-blocked'
        : this.bufferFull
          ? 'buffer-full'
          : null;
    if (!channel || reason !== null) {
      celeryMetrics.dropped.inc({ reason: reason ?? 'no-channel' });
      return false;
    }
    try {
      const flushed = channel.publish(exchange, routingKey, Buffer.from(JSON.stringify(body)), {
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        deliveryMode: 1,
        // Returned when no monitor's queue is bound for it: see `heard`.
        mandatory: exchange === EVENT_EXCHANGE,
        headers,
      });
      // Written, but past the socket's high-water mark: drop the next ones until it drains.
      if (!flushed) this.bufferFull = true;
      return true;
    } catch {
      // The channel closed under us; the next connection opens another.
      celeryMetrics.dropped.inc({ reason: 'no-channel' });
      return false;
    }
  }
}
