import { Logger } from '@nestjs/common';
import type { ChannelModel, ConfirmChannel, Message, Options } from 'amqplib';
import type { BrokerConnection } from './broker-connection';

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

interface PendingPublish {
  exchange: string;
  routingKey: string;
  content: Buffer;
  properties: Options.Publish;
  returned: boolean;
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
 */
export class Publisher {
  private readonly logger = new Logger(Publisher.name);
  private channel: ConfirmChannel | null = null;
  /** Published, waiting for the broker's confirm; keyed by message id for returns. */
  private readonly inFlight = new Map<string, PendingPublish[]>();
  /** Waiting for a channel (not connected, or lost with the last connection). */
  private backlog: PendingPublish[] = [];
  private drained: Promise<void> | null = null;

  constructor(private readonly connection: BrokerConnection) {}

  async start(): Promise<void> {
    await this.connection.onConnect((model) => this.openChannel(model));
  }

  private async openChannel(model: ChannelModel): Promise<void> {
    const channel = await model.createConfirmChannel();
    channel.on('return', (message: Message) => this.onReturn(message));
    channel.on('error', (error: Error) => this.logger.warn(`channel error: ${error.message}`));
    channel.on('close', () => {
      if (this.channel === channel) this.channel = null;
    });
    this.channel = channel;
    this.drained = null;
    const backlog = this.backlog;
    this.backlog = [];
    if (backlog.length > 0)
      this.logger.warn(
        `publishing again ${backlog.length} ${backlog.length === 1 ? 'message' : 'messages'} ` +
          `the broker never confirmed: in flight when the connection was lost, or sent while ` +
          `it was down. Any that did arrive are delivered twice; consumers drop the copy by ` +
          `its task id`,
      );
    for (const pending of backlog) this.write(pending);
  }

  publish(
    exchange: string,
    routingKey: string,
    content: Buffer,
    properties: Options.Publish,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const pending: PendingPublish = {
        exchange,
        routingKey,
        content,
        properties: { ...properties, persistent: true, mandatory: true },
        returned: false,
        resolve,
        reject,
      };
      if (this.drained) {
        void this.drained.then(() => this.write(pending));
      } else {
        this.write(pending);
      }
    });
  }

  private write(pending: PendingPublish): void {
    const channel = this.channel;
    if (!channel) {
      this.backlog.push(pending);
      return;
    }
    const id = pending.properties.messageId ?? '';
    const sameId = this.inFlight.get(id);
    if (sameId) sameId.push(pending);
    else this.inFlight.set(id, [pending]);
    let flushed: boolean;
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
      this.backlog.push(pending);
      return;
    }
    if (!flushed && !this.drained) {
      this.drained = new Promise<void>((resolve) =>
        channel.once('drain', () => {
          this.drained = null;
          resolve();
        }),
      );
    }
  }

  private onConfirm(id: string, pending: PendingPublish, error: Error | null): void {
    this.forget(id, pending);
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

  /** Messages not yet confirmed, for health reporting. */
  get unconfirmedCount(): number {
    let count = this.backlog.length;
    for (const list of this.inFlight.values()) count += list.length;
    return count;
  }
}
