import { Logger } from '@nestjs/common';
import type { ChannelModel, ConfirmChannel, Message, Options } from 'amqplib';
import type { BrokerConnection } from './broker-connection';
import { publishedTaskLabels, taskMetrics } from '../worker/task-metrics';
import { publisherMetrics } from './publisher-metrics';

/** How long a publish waits for the broker's confirm by default (a channel, then the confirm). */
export const CONFIRM_TIMEOUT_MS_DEFAULT = 5_000;
/** Messages held in memory while the broker is away, by default; more are refused at once. */
export const PUBLISH_BACKLOG_COUNT_MAX_DEFAULT = 10_000;

/** The broker accepted the message but no queue was bound to its routing key. */
export class UnroutableError extends Error {
  override readonly name = 'UnroutableError';
  constructor(
    readonly exchange: string,
    readonly routingKey: string,
  ) {
    super(`message to exchange ${exchange} with routing key ${routingKey} reached no queue`);
  }
}

/** The broker refused the message (for example a full queue with reject-publish). */
export class PublishRejectedError extends Error {
  override readonly name = 'PublishRejectedError';
}

/**
 * The broker is away and the message could not wait for it: it found the in-memory
 * backlog full, or waited there past its deadline. `outcomeUnknown` is false when it was
 * never handed to the broker (nothing was sent), true when it was written on a
 * connection that went away before the confirm (it may still arrive; the consumer's
 * inbox drops a resend with the same task id).
 */
export class BrokerUnavailableError extends Error {
  override readonly name = 'BrokerUnavailableError';
  constructor(
    message: string,
    readonly outcomeUnknown = false,
  ) {
    super(message);
  }
}

/**
 * The broker did not confirm the message within its deadline after it was written. Its
 * outcome is unknown: it may still arrive (a resend with the same task id is deduplicated
 * by the consumer's inbox), so a caller must not report it as failed.
 */
export class PublishTimeoutError extends Error {
  override readonly name = 'PublishTimeoutError';
  constructor(
    readonly exchange: string,
    readonly routingKey: string,
    readonly timeoutMs: number,
  ) {
    super(
      `the broker did not confirm the message to ${exchange} with routing key ${routingKey} ` +
        `within ${timeoutMs} ms; it may still arrive`,
    );
  }
}

/** Bounds of a {@link Publisher}. */
export interface PublisherOptions {
  /** A publish that is not confirmed in this time rejects; {@link CONFIRM_TIMEOUT_MS_DEFAULT}. */
  confirmTimeoutMs?: number;
  /**
   * Messages held while no channel is open; once full, a publish rejects at once with
   * {@link BrokerUnavailableError}. {@link PUBLISH_BACKLOG_COUNT_MAX_DEFAULT}.
   */
  backlogCountMax?: number;
}

/** Per call: a deadline other than the publisher's (a query with its own time budget). */
export interface PublishDeadline {
  timeoutMs?: number;
}

interface PendingPublish {
  exchange: string;
  routingKey: string;
  content: Buffer;
  properties: Options.Publish;
  returned: boolean;
  /** Handed to a channel at least once: from then on its outcome can be unknown. */
  written: boolean;
  /** Resolved, rejected or timed out: late confirms and reconnects leave it alone. */
  settled: boolean;
  timer: NodeJS.Timeout | null;
  resolve: () => void;
  reject: (error: Error) => void;
}

const CHANNEL_CLOSED = 'channel closed';

/**
 * Publishes persistent, mandatory messages on a confirm channel.
 *
 * `publish` resolves when the broker confirmed the message, rejects with
 * {@link UnroutableError} when it came back unroutable and with
 * {@link PublishRejectedError} on a nack. Messages whose confirm was lost with the
 * connection are published again on the next connection (at-least-once: consumers
 * deduplicate by task id).
 *
 * Every wait is bounded: a publish not confirmed within its deadline rejects with
 * {@link PublishTimeoutError} (written, outcome unknown) or {@link BrokerUnavailableError}
 * (never written), and while the broker is away at most `backlogCountMax` messages wait
 * in memory; more are refused at once.
 */
export class Publisher {
  private readonly logger = new Logger(Publisher.name);
  private channel: ConfirmChannel | null = null;
  /** Published, waiting for the broker's confirm; keyed by message id for returns. */
  private readonly inFlight = new Map<string, PendingPublish[]>();
  /** Waiting for a channel (not connected, or lost with the last connection). A set: a timed-out message leaves it in O(1). */
  private backlog = new Set<PendingPublish>();
  private drained: Promise<void> | null = null;
  /** Lets the publishes waiting for `drained` go on (to the backlog, or a new channel). */
  private releaseDrained: (() => void) | null = null;
  private readonly confirmTimeoutMs: number;
  private readonly backlogCountMax: number;

  constructor(
    private readonly connection: BrokerConnection,
    options: PublisherOptions = {},
  ) {
    this.confirmTimeoutMs = options.confirmTimeoutMs ?? CONFIRM_TIMEOUT_MS_DEFAULT;
    this.backlogCountMax = options.backlogCountMax ?? PUBLISH_BACKLOG_COUNT_MAX_DEFAULT;
    if (!(this.confirmTimeoutMs > 0)) throw new Error('confirmTimeoutMs must be positive');
    if (!(this.backlogCountMax > 0)) throw new Error('backlogCountMax must be positive');
  }

  async start(): Promise<void> {
    await this.connection.onConnect((model) => this.openChannel(model));
  }

  private async openChannel(model: ChannelModel): Promise<void> {
    const channel = await model.createConfirmChannel();
    channel.on('return', (message: Message) => this.onReturn(message));
    channel.on('error', (error: Error) => this.logger.warn(`channel error: ${error.message}`));
    channel.on('close', () => {
      if (this.channel !== channel) return;
      this.channel = null;
      // A closed channel never drains: its waiters go to the backlog instead.
      this.releaseDrained?.();
    });
    this.channel = channel;
    this.releaseDrained?.();
    const backlog = this.backlog;
    this.backlog = new Set();
    publisherMetrics.backlog.dec(backlog.size);
    if (backlog.size > 0)
      this.logger.warn(
        `publishing again ${backlog.size} ${backlog.size === 1 ? 'message' : 'messages'} ` +
          `the broker never confirmed: in flight when the connection was lost, or sent while ` +
          `it was down. Any that did arrive are delivered twice; consumers drop the copy by ` +
          `its task id`,
      );
    for (const pending of backlog) this.write(pending);
  }

  /**
   * Publishes one message and resolves when the broker confirmed it. Rejects within
   * `deadline.timeoutMs` (the publisher's `confirmTimeoutMs` by default) whatever the
   * broker does, and at once when the broker is away and the backlog is full.
   */
  publish(
    exchange: string,
    routingKey: string,
    content: Buffer,
    properties: Options.Publish,
    deadline: PublishDeadline = {},
  ): Promise<void> {
    const task = publishedTaskLabels(exchange, properties.headers as Record<string, unknown>);
    if (task) taskMetrics.published.inc(task);
    if (!this.channel && this.backlog.size >= this.backlogCountMax) {
      publisherMetrics.refused.inc();
      return Promise.reject(
        new BrokerUnavailableError(
          `the broker is unavailable and ${this.backlog.size} messages already wait for it ` +
            `(the backlog's limit): not published`,
        ),
      );
    }
    const timeoutMs = deadline.timeoutMs ?? this.confirmTimeoutMs;
    return new Promise<void>((resolve, reject) => {
      const pending: PendingPublish = {
        exchange,
        routingKey,
        content,
        // RabbitMQ checks user_id against the connection: the sender cannot be forged.
        properties: {
          ...properties,
          userId: this.connection.user,
          persistent: true,
          mandatory: true,
        },
        returned: false,
        written: false,
        settled: false,
        timer: null,
        resolve: () => {
          this.settle(pending);
          if (task) taskMetrics.confirmed.inc(task);
          resolve();
        },
        reject: (error) => {
          this.settle(pending);
          reject(error);
        },
      };
      pending.timer = setTimeout(() => this.expire(pending, timeoutMs), timeoutMs);
      if (this.drained) {
        void this.drained.then(() => this.write(pending));
      } else {
        this.write(pending);
      }
    });
  }

  private settle(pending: PendingPublish): void {
    pending.settled = true;
    if (pending.timer) clearTimeout(pending.timer);
    pending.timer = null;
  }

  /** The deadline passed: the message leaves every list, and a late confirm is ignored. */
  private expire(pending: PendingPublish, timeoutMs: number): void {
    if (pending.settled) return;
    pending.timer = null;
    if (this.backlog.delete(pending)) publisherMetrics.backlog.dec();
    this.forget(pending.properties.messageId ?? '', pending);
    if (pending.written) {
      publisherMetrics.timeouts.inc({ outcome: 'unknown' });
      pending.reject(new PublishTimeoutError(pending.exchange, pending.routingKey, timeoutMs));
    } else {
      publisherMetrics.timeouts.inc({ outcome: 'unsent' });
      pending.reject(
        new BrokerUnavailableError(
          `the broker was unavailable for ${timeoutMs} ms: the message to ${pending.exchange} ` +
            `with routing key ${pending.routingKey} was not published`,
        ),
      );
    }
  }

  /** Keeps a message for the next channel, unless the backlog is full. */
  private hold(pending: PendingPublish): void {
    if (this.backlog.size >= this.backlogCountMax) {
      // Written before and returned by a lost connection: the bound holds for these too.
      publisherMetrics.refused.inc();
      pending.reject(
        new BrokerUnavailableError(
          `the connection to the broker was lost before it confirmed the message to ` +
            `${pending.exchange} with routing key ${pending.routingKey}, and the backlog is ` +
            `full; it may have arrived`,
          pending.written,
        ),
      );
      return;
    }
    this.backlog.add(pending);
    publisherMetrics.backlog.inc();
  }

  private write(pending: PendingPublish): void {
    if (pending.settled) return;
    const channel = this.channel;
    if (!channel) {
      this.hold(pending);
      return;
    }
    const id = pending.properties.messageId ?? '';
    const sameId = this.inFlight.get(id);
    if (sameId) sameId.push(pending);
    else this.inFlight.set(id, [pending]);
    let flushed: boolean;
    pending.written = true;
    try {
      flushed = channel.publish(
        pending.exchange,
        pending.routingKey,
        pending.content,
        pending.properties,
        (error: Error | null) => this.onConfirm(id, pending, error),
      );
    } catch {
      // The channel closed under us: keep the message for the next connection.
      this.forget(id, pending);
      this.hold(pending);
      return;
    }
    if (!flushed && !this.drained) {
      this.drained = new Promise<void>((resolve) => {
        const release = (): void => {
          if (this.releaseDrained !== release) return;
          this.drained = null;
          this.releaseDrained = null;
          resolve();
        };
        this.releaseDrained = release;
        channel.once('drain', release);
      });
    }
  }

  private onConfirm(id: string, pending: PendingPublish, error: Error | null): void {
    this.forget(id, pending);
    if (pending.settled) return;
    if (error === null) {
      if (pending.returned)
        pending.reject(new UnroutableError(pending.exchange, pending.routingKey));
      else pending.resolve();
    } else if (error.message === CHANNEL_CLOSED) {
      pending.returned = false;
      this.write(pending);
    } else {
      pending.reject(new PublishRejectedError(`broker refused the message: ${error.message}`));
    }
  }

  private forget(id: string, pending: PendingPublish): void {
    const sameId = this.inFlight.get(id);
    if (!sameId) return;
    const index = sameId.indexOf(pending);
    if (index >= 0) sameId.splice(index, 1);
    if (sameId.length === 0) this.inFlight.delete(id);
  }

  private onReturn(message: Message): void {
    const id = String(message.properties.messageId ?? '');
    const pending = this.inFlight.get(id)?.find((p) => !p.returned);
    if (pending) pending.returned = true;
  }

  get connected(): boolean {
    return this.channel !== null;
  }

  /** The broker user every message of this publisher is sent as (its `user_id`). */
  get user(): string {
    return this.connection.user;
  }

  /** Messages waiting in memory for a channel (the broker is away); at most `backlogCountMax`. */
  get backlogCount(): number {
    return this.backlog.size;
  }

  /** Messages not yet confirmed, for health reporting. */
  get unconfirmedCount(): number {
    let count = this.backlog.size;
    for (const list of this.inFlight.values()) count += list.length;
    return count;
  }
}
