import { connect, type Channel, type GetMessage } from 'amqplib';
import { encodeTask, decodeTask, MalformedTaskError } from '../protocol/celery-message';
import { deadLetterQueue, ORDER_KEY_HEADER, TASK_EXCHANGE } from '../topology';
import type { Publisher } from '../broker/publisher';
import { DEAD_LETTER_HEADERS } from './dead-letter';

/** One dead letter as an operator sees it. */
export interface DeadLetter {
  id: string;
  queue: string;
  task: string | null;
  reason: string;
  error: string | null;
  errorType: string | null;
  originalExchange: string | null;
  originalRoutingKey: string | null;
  failedAt: string | null;
  deliveryCount: number | null;
  body: string;
}

export const DEAD_LETTER_PAGE_MAX = 100;

function text(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return typeof value === 'string' || typeof value === 'number'
    ? String(value)
    : JSON.stringify(value);
}

/**
 * How an operator names a dead letter: its message id, else its task id (Celery sets no
 * message id), else its place in the queue.
 */
function deadLetterId(message: GetMessage): string {
  const headers = message.properties.headers ?? {};
  return (
    text(message.properties.messageId) ??
    text(headers['id']) ??
    `delivery-${message.fields.deliveryTag}`
  );
}

function toDeadLetter(queue: string, message: GetMessage): DeadLetter {
  const headers = message.properties.headers ?? {};
  const deaths = Array.isArray(headers['x-death'])
    ? (headers['x-death'] as unknown as Record<string, unknown>[])
    : [];
  const brokerReason = text(headers['x-first-death-reason']);
  return {
    id: deadLetterId(message),
    queue,
    task: text(headers['task']),
    reason:
      text(headers[DEAD_LETTER_HEADERS.reason]) ??
      (brokerReason === 'delivery_limit' ? 'delivery-limit' : (brokerReason ?? 'unknown')),
    error: text(headers[DEAD_LETTER_HEADERS.error]),
    errorType: text(headers[DEAD_LETTER_HEADERS.errorType]),
    originalExchange:
      text(headers[DEAD_LETTER_HEADERS.originalExchange]) ?? text(deaths[0]?.['exchange']),
    originalRoutingKey:
      text(headers[DEAD_LETTER_HEADERS.originalRoutingKey]) ??
      text((deaths[0]?.['routing-keys'] as unknown[] | undefined)?.[0]),
    failedAt: text(headers[DEAD_LETTER_HEADERS.failedAt]),
    deliveryCount:
      typeof headers['x-delivery-count'] === 'number' ? headers['x-delivery-count'] : null,
    body: message.content.toString('utf8'),
  };
}

/**
 * Lists and replays dead letters. Listing reads messages without acknowledging them
 * and closes the channel, which returns every one to its queue untouched.
 */
export class DeadLetterAdmin {
  constructor(
    private readonly amqpUrl: string,
    private readonly publisher: Publisher,
    private readonly workQueues: readonly string[],
  ) {}

  private async withChannel<T>(work: (channel: Channel) => Promise<T>): Promise<T> {
    const connection = await connect(this.amqpUrl, {
      noDelay: true,
      clientProperties: { connection_name: 'clearline-dead-letters' },
    });
    try {
      const channel = await connection.createChannel();
      const result = await work(channel);
      // Closing the channel first (and waiting for the broker's close-ok) makes sure an
      // ack sent just before is processed; unacknowledged messages return to the queue.
      await channel.close();
      return result;
    } finally {
      await connection.close().catch(() => undefined);
    }
  }

  private async scan(
    channel: Channel,
    queue: string,
    limit: number,
    stop?: (m: GetMessage) => boolean,
  ): Promise<GetMessage[]> {
    const seen: GetMessage[] = [];
    const { messageCount } = await channel.checkQueue(deadLetterQueue(queue));
    for (let i = 0; i < Math.min(messageCount, limit); i += 1) {
      const message = await channel.get(deadLetterQueue(queue), { noAck: false });
      if (!message) break;
      seen.push(message);
      if (stop?.(message)) break;
    }
    return seen;
  }

  /** Up to `limit` dead letters of each work queue (or of one queue), oldest first. */
  async list({
    queue,
    limit = DEAD_LETTER_PAGE_MAX,
  }: { queue?: string; limit?: number } = {}): Promise<DeadLetter[]> {
    const queues = queue ? [queue] : [...this.workQueues];
    const bounded = Math.min(Math.max(1, limit), DEAD_LETTER_PAGE_MAX);
    return this.withChannel(async (channel) => {
      const all: DeadLetter[] = [];
      for (const q of queues) {
        all.push(
          ...(await this.scan(channel, q, bounded - all.length)).map((m) => toDeadLetter(q, m)),
        );
        if (all.length >= bounded) break;
      }
      return all;
    });
  }

  /**
   * Publishes the dead letter with this id back to its queue as a fresh attempt
   * (retries reset), confirmed, and only then removes it. Returns false if not found.
   */
  async replay(id: string): Promise<DeadLetter | null> {
    return this.withChannel(async (channel) => {
      for (const queue of this.workQueues) {
        const seen = await this.scan(channel, queue, 10_000, (m) => deadLetterId(m) === id);
        const found = seen.find((m) => deadLetterId(m) === id);
        if (!found) continue;
        await this.republish(queue, found);
        channel.ack(found);
        return toDeadLetter(queue, found);
      }
      return null;
    });
  }

  private async republish(queue: string, message: GetMessage): Promise<void> {
    try {
      const task = decodeTask(message.content, message.properties);
      const fresh = encodeTask({ ...task, retries: 0, eta: null, expires: null });
      // An ordered task keeps its order key: its lane's hash exchange routes by it.
      const orderKey = message.properties.headers?.[ORDER_KEY_HEADER] as unknown;
      if (orderKey !== undefined) {
        fresh.properties.headers = {
          ...(fresh.properties.headers as Record<string, unknown>),
          [ORDER_KEY_HEADER]: orderKey,
        };
      }
      await this.publisher.publish(TASK_EXCHANGE, queue, fresh.content, fresh.properties);
    } catch (error) {
      if (!(error instanceof MalformedTaskError)) throw error;
      // Not a task we can read: put the bytes back as they were, for its handler to judge.
      await this.publisher.publish(TASK_EXCHANGE, queue, message.content, {
        messageId: text(message.properties.messageId) ?? undefined,
        contentType: text(message.properties.contentType) ?? undefined,
      });
    }
  }
}
