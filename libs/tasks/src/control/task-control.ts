import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { DataSource } from 'typeorm';
import type { BrokerConnection } from '../broker/broker-connection';
import { UnroutableError, type Publisher } from '../broker/publisher';
import {
  CONTROL_EXCHANGE,
  INSPECT_KINDS,
  type InspectKind,
  type InspectReply,
  type RevokeCommand,
} from './control-protocol';
import { persistRevocation, REVOCATION_EXPIRES_MS_DEFAULT } from './revocations';

/** How long `inspect` collects replies unless told. */
export const INSPECT_TIMEOUT_MS_DEFAULT = 1_000;
/** The longest `inspect` may wait for replies. */
export const INSPECT_TIMEOUT_MS_MAX = 60_000;
/** Replies one `inspect` call keeps (workers beyond it are not heard). */
const INSPECT_REPLY_COUNT_MAX = 1_000;

export interface RevokeOptions {
  /** Also abort the task if it is running now (its `ctx.signal` fires; it ends REVOKED). */
  terminate?: boolean;
  /** Recorded as the REVOKED result's error message. */
  reason?: string;
}

export interface InspectOptions {
  /** How long to collect replies. */
  timeoutMs?: number;
  /** Stop as soon as this many workers replied (Celery's `limit`). */
  limit?: number;
}

interface Collecting {
  replies: InspectReply[];
  limit: number;
  done: () => void;
}

/**
 * Control of the workers, as `celery control` and `celery inspect` offer it.
 *
 * `revoke` records the revocation in `task_revocations` (a worker started later reads
 * it) and broadcasts it to every running worker; `inspect` asks every worker a question
 * over the broker and collects the answers until a deadline.
 */
export class TaskControl {
  private readonly logger = new Logger(TaskControl.name);
  private readonly collecting = new Map<string, Collecting>();
  private replyQueue: Promise<string> | null = null;
  private replyChannel: Channel | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly publisher: Publisher,
    private readonly connection: BrokerConnection,
    private readonly revocationExpiresMs: number = REVOCATION_EXPIRES_MS_DEFAULT,
  ) {}

  /**
   * Revokes a task: a worker that receives it records REVOKED and acknowledges it without
   * running it; with `terminate`, a run in progress is aborted and ends REVOKED (its
   * transaction rolled back). A task that already finished keeps its result. Resolves
   * once the revocation is committed and the broadcast confirmed by the broker.
   */
  async revoke(taskId: string, options: RevokeOptions = {}): Promise<void> {
    const revocation = await persistRevocation(this.dataSource, taskId, {
      terminate: options.terminate ?? false,
      reason: options.reason ?? null,
      expiresMs: this.revocationExpiresMs,
    });
    const command: RevokeCommand = {
      method: 'revoke',
      arguments: {
        task_id: taskId,
        terminate: revocation.terminate,
        reason: revocation.reason,
        expires_at_ms: revocation.expiresAtMs,
      },
    };
    await this.broadcast(command, {});
  }

  /**
   * Asks every worker (`active`, `reserved`, `stats` or `registered`) and returns the
   * replies that arrived within `timeoutMs`, one per worker; none when no worker runs.
   */
  async inspect<K extends InspectKind>(
    kind: K,
    options: InspectOptions = {},
  ): Promise<InspectReply<K>[]> {
    if (!INSPECT_KINDS.includes(kind)) throw new TypeError(`inspect: unknown kind ${kind}`);
    const timeoutMs = Math.min(
      options.timeoutMs ?? INSPECT_TIMEOUT_MS_DEFAULT,
      INSPECT_TIMEOUT_MS_MAX,
    );
    const replyTo = await this.replyQueueName();
    const correlationId = randomUUID();
    let done = (): void => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const entry: Collecting = {
      replies: [],
      limit: Math.min(options.limit ?? INSPECT_REPLY_COUNT_MAX, INSPECT_REPLY_COUNT_MAX),
      done,
    };
    this.collecting.set(correlationId, entry);
    const timer = setTimeout(done, timeoutMs);
    try {
      const sent = await this.broadcast(
        { method: kind, arguments: {} },
        { replyTo, correlationId, expiration: String(timeoutMs) },
      );
      if (sent) await finished;
      return entry.replies as InspectReply<K>[];
    } finally {
      clearTimeout(timer);
      this.collecting.delete(correlationId);
    }
  }

  /** Publishes a command on the control exchange; false when no worker is bound to it. */
  private async broadcast(
    command: object,
    properties: { replyTo?: string; correlationId?: string; expiration?: string },
  ): Promise<boolean> {
    try {
      await this.publisher.publish(CONTROL_EXCHANGE, '', Buffer.from(JSON.stringify(command)), {
        messageId: randomUUID(),
        contentType: 'application/json',
        ...properties,
      });
      return true;
    } catch (error) {
      if (error instanceof UnroutableError) return false;
      throw error;
    }
  }

  /** An exclusive reply queue on the publishing connection, made again after a reconnect. */
  private replyQueueName(): Promise<string> {
    this.replyQueue ??= new Promise<string>((resolve, reject) => {
      this.connection
        .onConnect(async (model) => {
          const queue = await this.openReplyQueue(model);
          this.replyQueue = Promise.resolve(queue);
          resolve(queue);
        })
        .catch(reject);
    });
    return this.replyQueue;
  }

  private async openReplyQueue(model: ChannelModel): Promise<string> {
    const channel = await model.createChannel();
    channel.on('error', (error: Error) =>
      this.logger.warn(`reply channel error: ${error.message}`),
    );
    const { queue } = await channel.assertQueue('', {
      exclusive: true,
      autoDelete: true,
      durable: false,
      arguments: { 'x-queue-type': 'classic' },
    });
    await channel.consume(queue, (message) => message && this.onReply(message), { noAck: true });
    this.replyChannel = channel;
    return queue;
  }

  private onReply(message: ConsumeMessage): void {
    const entry = this.collecting.get(String(message.properties.correlationId ?? ''));
    if (!entry || entry.replies.length >= entry.limit) return;
    try {
      const reply = JSON.parse(message.content.toString('utf8')) as InspectReply;
      if (typeof reply.worker !== 'string') return;
      entry.replies.push(reply);
    } catch {
      return;
    }
    if (entry.replies.length >= entry.limit) entry.done();
  }

  /** Closes the reply channel (the connection belongs to the module). */
  async close(): Promise<void> {
    await this.replyChannel?.close().catch(() => undefined);
    this.replyChannel = null;
  }
}
