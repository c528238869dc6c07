import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { BrokerConnection } from '../broker/broker-connection';
import { pythonRepr } from '../protocol/python-repr';
import { TaskTimeoutError } from '../results/result-waiter';
import type { TaskResultRecord } from '../results/task-state';

/**
 * Results as messages, the way Celery's `rpc://` result backend delivers them: a task sent
 * with `reply: 'rpc'` carries `reply_to` = this client's reply queue and `correlation_id` =
 * its id, and the worker (a Python Celery worker with `result_backend='rpc://'`, or ours)
 * publishes `{task_id, status, result, traceback, children}` there through the default
 * exchange. One queue per client process, on the publishing connection: exclusive,
 * auto-delete, declared on first use and again on every new connection.
 *
 * Bounded everywhere: the broker keeps at most {@link REPLY_QUEUE_LENGTH_MAX} replies
 * (the oldest go first); a reply is read only for a task this client sent with `reply:
 * 'rpc'` and still remembers (at most {@link REPLY_EXPECTED_COUNT_MAX}, holding at most
 * {@link REPLY_HELD_BYTES_MAX} of replies nobody has waited for yet); anything else is
 * dropped on arrival. A reply that arrives while the connection is down is lost (the
 * queue went with it): its wait ends at its deadline with `TaskTimeoutError`.
 */

/** Replies the broker holds for this client at most; more push the oldest out. */
export const REPLY_QUEUE_LENGTH_MAX = 10_000;
/** Tasks whose reply this client remembers; past it, the oldest is forgotten. */
export const REPLY_EXPECTED_COUNT_MAX = 10_000;
/** Bytes of replies kept for tasks nobody waits for yet; past it, the oldest are dropped. */
export const REPLY_HELD_BYTES_MAX = 64 * 1024 * 1024;
/** Unacknowledged replies the broker pushes to this client at once. */
const REPLY_PREFETCH = 100;
/**
 * After a reconnect the broker may still hold the lost connection's exclusive queue for a
 * few heartbeats (RESOURCE_LOCKED): declaring it is tried again this often, this far apart.
 */
const DECLARE_ATTEMPTS_MAX = 60;
const DECLARE_RETRY_MS = 500;
/** The states after which nothing more comes (Celery's READY_STATES). */
const FINAL_STATES = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);

/** A task sent with `reply: 'rpc'`, as its reply is turned into a result record. */
export interface SentTask {
  id: string;
  task: string;
  queue: string;
  rootId: string | null;
  parentId: string | null;
  sentAt: Date;
}

/** Python's `str(exc)` from Celery's `exc_message` (the exception's args). */
function exceptionMessage(message: unknown): string {
  if (typeof message === 'string') return message;
  if (!Array.isArray(message)) return message === undefined ? '' : pythonRepr(message);
  if (message.length === 0) return '';
  if (message.length === 1) {
    const [only] = message as unknown[];
    return typeof only === 'string' ? only : pythonRepr(only);
  }
  return `(${message.map((arg) => pythonRepr(arg)).join(', ')})`;
}

/** `{exc_type, exc_message, exc_module}` (Celery's JSON form of an exception), or a bare value. */
function exceptionOf(result: unknown, fallbackType: string): { type: string; message: string } {
  if (typeof result === 'object' && result !== null && !Array.isArray(result)) {
    const exc = result as Record<string, unknown>;
    if (typeof exc['exc_type'] === 'string') {
      return { type: exc['exc_type'], message: exceptionMessage(exc['exc_message']) };
    }
  }
  return { type: fallbackType, message: exceptionMessage(result === null ? [] : [result]) };
}

function record(sent: SentTask, fields: Partial<TaskResultRecord>): TaskResultRecord {
  return {
    id: sent.id,
    task: sent.task,
    queue: sent.queue,
    state: 'SUCCESS',
    result: null,
    errorType: null,
    errorMessage: null,
    traceback: null,
    retries: 0,
    rootId: sent.rootId,
    parentId: sent.parentId,
    groupId: null,
    worker: null,
    createdAt: sent.sentAt,
    startedAt: null,
    dateDone: new Date(),
    ...fields,
  };
}

/**
 * A Celery result message as the record `TaskHandle.settled` resolves with, or null for a
 * state that is not final (STARTED, RETRY, a custom state): the wait goes on. A failure's
 * `exc_type` becomes the error type and its args the message, as `str(exc)` reads.
 */
export function readCeleryReply(body: unknown, sent: SentTask): TaskResultRecord | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return unreadableReply(sent, 'the reply is not a JSON object');
  }
  const reply = body as Record<string, unknown>;
  const status = reply['status'];
  if (typeof status !== 'string') return unreadableReply(sent, 'the reply has no status');
  if (!FINAL_STATES.has(status)) return null;
  const traceback = typeof reply['traceback'] === 'string' ? reply['traceback'] : null;
  if (status === 'SUCCESS') return record(sent, { result: reply['result'] ?? null });
  const exc = exceptionOf(reply['result'], status === 'REVOKED' ? 'TaskRevokedError' : 'Error');
  return record(sent, {
    state: status === 'REVOKED' ? 'REVOKED' : 'FAILURE',
    errorType: exc.type,
    errorMessage: exc.message,
    traceback,
  });
}

/** A reply this client cannot read fails the wait at once, saying why, rather than hang. */
function unreadableReply(sent: SentTask, why: string): TaskResultRecord {
  return record(sent, {
    state: 'FAILURE',
    errorType: 'UnreadableReply',
    errorMessage: `${why}; a Python worker must reply with result_serializer='json'`,
  });
}

function closedError(taskId: string): Error {
  return new Error(`the task client closed before task ${taskId} replied`);
}

interface Expected {
  sent: SentTask;
  /** The final reply, while nobody has taken it. */
  record: TaskResultRecord | null;
  bytes: number;
}

interface Waiter {
  settle(record: TaskResultRecord): void;
  fail(error: Error): void;
}

/** This client's reply queue and the waits on it. */
export class ReplyQueue {
  /** The queue's name: the `reply_to` of every task this client sends with `reply: 'rpc'`. */
  readonly name: string;
  private readonly logger = new Logger(ReplyQueue.name);
  private readonly expected = new Map<string, Expected>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private heldBytes = 0;
  private channel: Channel | null = null;
  /** Sends waiting for the queue to be declared on the current connection. */
  private readonly readyWaiters = new Set<() => void>();
  private started: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly connection: BrokerConnection,
    serviceName: string,
  ) {
    this.name = `clearline.reply.${serviceName}.${randomUUID()}`;
  }

  /**
   * Declares the queue and consumes it, now if connected and on every later connection.
   * Resolves once consuming (or at once if the broker is away: it is declared when the
   * connection comes, before any publish waiting for it). Idempotent.
   */
  start(): Promise<void> {
    this.started ??= this.connection.onConnect((model) => this.open(model));
    return this.started;
  }

  /** Consuming now: the queue exists on the current connection. */
  get ready(): boolean {
    return this.channel !== null;
  }

  /**
   * Resolves true once the queue is consumed on the current connection, false after
   * `timeoutMs`: a task must not go out before the queue its reply goes to exists (after a
   * reconnect, the publisher's channel is back before this queue is declared again).
   */
  whenReady(timeoutMs: number): Promise<boolean> {
    if (this.channel) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.readyWaiters.delete(done);
        resolve(this.channel !== null);
      };
      const timer = setTimeout(done, timeoutMs);
      this.readyWaiters.add(done);
    });
  }

  /** Remembers a task before it is published, so a reply that comes first is kept. */
  expect(sent: SentTask): void {
    this.forget(sent.id);
    this.expected.set(sent.id, { sent, record: null, bytes: 0 });
    while (this.expected.size > REPLY_EXPECTED_COUNT_MAX) {
      const oldest = this.expected.keys().next();
      if (oldest.done) break;
      this.forget(oldest.value);
    }
  }

  /** Forgets a task (its publish failed): a reply for it will be dropped. */
  forget(taskId: string): void {
    const entry = this.expected.get(taskId);
    if (!entry) return;
    this.heldBytes -= entry.bytes;
    this.expected.delete(taskId);
  }

  /**
   * The task's final reply; rejects with `TaskTimeoutError` after `timeoutMs`. A reply
   * that came before is taken (it is handed out once; the handle keeps it).
   */
  wait(taskId: string, timeoutMs: number): Promise<TaskResultRecord> {
    const entry = this.expected.get(taskId);
    if (entry?.record) {
      this.forget(taskId);
      return Promise.resolve(entry.record);
    }
    if (this.closed) return Promise.reject(closedError(taskId));
    return new Promise<TaskResultRecord>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.removeWaiter(taskId, waiter);
        reject(new TaskTimeoutError(taskId, timeoutMs));
      }, timeoutMs);
      const end = (): void => {
        clearTimeout(timer);
        this.removeWaiter(taskId, waiter);
      };
      const waiter: Waiter = {
        settle: (found) => {
          end();
          resolve(found);
        },
        fail: (error) => {
          end();
          reject(error);
        },
      };
      const set = this.waiters.get(taskId) ?? new Set<Waiter>();
      set.add(waiter);
      this.waiters.set(taskId, set);
    });
  }

  private removeWaiter(taskId: string, waiter: Waiter): void {
    const set = this.waiters.get(taskId);
    set?.delete(waiter);
    if (set?.size === 0) this.waiters.delete(taskId);
  }

  /**
   * One attempt now (a send waits for it); if it fails, more in the background, so a
   * reconnect is never held up by a queue the broker still holds for the lost connection.
   */
  private async open(model: ChannelModel): Promise<void> {
    try {
      await this.consume(model);
    } catch (error) {
      this.logger.warn(`reply queue ${this.name} not declared: ${String(error)}; retrying`);
      void this.retryOpen(model);
    }
  }

  private async retryOpen(model: ChannelModel): Promise<void> {
    for (let attempt = 2; attempt <= DECLARE_ATTEMPTS_MAX; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, DECLARE_RETRY_MS));
      if (this.closed || this.channel) return;
      try {
        await this.consume(model);
        this.logger.log(`reply queue ${this.name} declared (attempt ${attempt})`);
        return;
      } catch {
        // Tried again until the last attempt.
      }
    }
    this.logger.error(
      `reply queue ${this.name} not declared after ${DECLARE_ATTEMPTS_MAX} attempts: ` +
        `replies to this client are lost until the next connection`,
    );
  }

  private async consume(model: ChannelModel): Promise<void> {
    const channel = await model.createChannel();
    channel.on('error', (error: Error) =>
      this.logger.warn(`reply channel error: ${error.message}`),
    );
    channel.on('close', () => {
      if (this.channel === channel) this.channel = null;
    });
    await channel.assertQueue(this.name, {
      exclusive: true,
      autoDelete: true,
      durable: false,
      arguments: {
        'x-queue-type': 'classic',
        'x-max-length': REPLY_QUEUE_LENGTH_MAX,
        'x-overflow': 'drop-head',
      },
    });
    await channel.prefetch(REPLY_PREFETCH);
    await channel.consume(this.name, (message) => this.onMessage(channel, message), {
      noAck: false,
      exclusive: true,
    });
    this.channel = channel;
    for (const ready of [...this.readyWaiters]) ready();
  }

  private onMessage(channel: Channel, message: ConsumeMessage | null): void {
    if (!message) return;
    channel.ack(message);
    const { correlationId, contentType, contentEncoding } = message.properties as {
      correlationId?: unknown;
      contentType?: unknown;
      contentEncoding?: unknown;
    };
    let body: unknown = null;
    let parsed = false;
    if (contentType === 'application/json' && (contentEncoding ?? 'utf-8') === 'utf-8') {
      try {
        body = JSON.parse(message.content.toString('utf8'));
        parsed = true;
      } catch {
        parsed = false;
      }
    }
    const bodyId = parsed ? (body as { task_id?: unknown } | null)?.task_id : undefined;
    const taskId =
      typeof correlationId === 'string' && correlationId.length > 0 ? correlationId : bodyId;
    if (typeof taskId !== 'string') return;
    const entry = this.expected.get(taskId);
    if (!entry && !this.waiters.has(taskId)) return;
    const sent = entry?.sent ?? {
      id: taskId,
      task: 'unknown',
      queue: 'unknown',
      rootId: null,
      parentId: null,
      sentAt: new Date(),
    };
    const found = parsed
      ? readCeleryReply(body, sent)
      : unreadableReply(sent, `the reply is ${String(contentType)} (${String(contentEncoding)})`);
    if (found) this.settle(taskId, found, message.content.length);
  }

  private settle(taskId: string, found: TaskResultRecord, bytes: number): void {
    const waiters = this.waiters.get(taskId);
    if (waiters) {
      this.forget(taskId);
      for (const waiter of [...waiters]) waiter.settle(found);
      return;
    }
    const entry = this.expected.get(taskId);
    if (!entry || entry.record) return;
    entry.record = found;
    entry.bytes = bytes;
    this.heldBytes += bytes;
    for (const [id, held] of this.expected) {
      if (this.heldBytes <= REPLY_HELD_BYTES_MAX) break;
      if (held.record) this.forget(id);
    }
  }

  /** Stops consuming; waits still pending reject at once. */
  close(): Promise<void> {
    this.closed = true;
    const channel = this.channel;
    this.channel = null;
    for (const ready of [...this.readyWaiters]) ready();
    for (const [taskId, waiters] of this.waiters) {
      for (const waiter of [...waiters]) waiter.fail(closedError(taskId));
    }
    this.expected.clear();
    this.heldBytes = 0;
    // Not awaited: the module closes the connection at the same time, and a channel's close
    // on a connection that is going would wait for a reconnect that never comes.
    void channel?.close().catch(() => undefined);
    return Promise.resolve();
  }
}
