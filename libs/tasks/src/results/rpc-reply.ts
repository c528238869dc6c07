import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Publisher } from '../broker/publisher';
import { UnroutableError } from '../broker/publisher';
import type { TaskMessage } from '../protocol/celery-message';
import { toJson } from './result-store';
import type { ResultUpdate, TaskState } from './task-state';

/**
 * Results as messages, for callers that wait with Celery's `rpc://` result backend:
 * a task whose message names a reply queue (AMQP `reply_to`, which every Celery client
 * sets) gets each state its worker records sent there as well, in the shape Celery's
 * `RPCBackend._to_result` publishes, with `correlation_id` = the task id (or the
 * message's own correlation id). PostgreSQL stays the record; the reply is a courtesy
 * copy: a reply queue that is gone (the caller left) drops it, and nothing about the
 * task's outcome depends on it.
 */

/** Celery's serialised exception: the client rebuilds an exception of this type name. */
export interface CeleryException {
  exc_type: string;
  exc_message: string[];
  exc_module: string;
}

/** The body of one result message (Celery's `RPCBackend._to_result`). */
export interface CeleryResultBody {
  task_id: string;
  status: TaskState;
  result: unknown;
  traceback: string | null;
  children: unknown[];
  date_done: string | null;
}

/**
 * The module a failure's type is looked up in by the Python client. Celery's own
 * exceptions are found there (a revoke is a real `celery.exceptions.TaskRevokedError`);
 * any other name is not found in `clearline`, and Celery makes an exception class of
 * that name (`celery.exceptions.<name>`), so `type(e).__name__` and `str(e)` are ours.
 */
const CELERY_EXCEPTIONS = new Set(['TaskRevokedError', 'TimeLimitExceeded', 'Retry', 'Reject']);
const CLEARLINE_MODULE = 'clearline';

/** Our error as Celery serialises exceptions with the JSON serializer. */
export function celeryException(type: string, message: string): CeleryException {
  return {
    exc_type: type,
    exc_message: [message],
    exc_module: CELERY_EXCEPTIONS.has(type) ? 'celery.exceptions' : CLEARLINE_MODULE,
  };
}

/** What a state change looks like to a Celery client. */
export function celeryResultBody(taskId: string, update: ResultUpdate): CeleryResultBody {
  const failed = update.state === 'FAILURE' || update.state === 'RETRY';
  let result: unknown = update.result ?? null;
  if (failed) {
    result = celeryException(update.errorType ?? 'Error', update.errorMessage ?? '');
  } else if (update.state === 'REVOKED') {
    // Celery reports every revoke, expiry included, as TaskRevokedError(reason).
    result = celeryException('TaskRevokedError', update.errorMessage ?? 'revoked');
  }
  const done =
    update.state === 'SUCCESS' || update.state === 'FAILURE' || update.state === 'REVOKED';
  return {
    task_id: taskId,
    status: update.state,
    result,
    traceback: update.traceback ?? null,
    children: [],
    date_done: done ? new Date().toISOString() : null,
  };
}

/** How long a reply may wait for the broker's confirm; the task's ack waits at most this. */
const REPLY_CONFIRM_TIMEOUT_MS = 2_000;
/**
 * A reply queue the broker had no route for is not tried again for this long: Celery
 * clients set `reply_to` even when they read results elsewhere (Redis, PostgreSQL), and
 * their tasks should not pay a returned publish each. An `rpc://` client declares its
 * queue before it sends, so a queue that is missing now stays missing.
 */
export const MISSING_REPLY_QUEUE_TTL_MS = 60_000;
/** The most missing reply queues remembered (one per client process); the oldest go first. */
const MISSING_REPLY_QUEUES_MAX = 10_000;

/** Sends result messages to the reply queues of the tasks that name one. */
export class RpcReplies {
  private readonly logger = new Logger(RpcReplies.name);
  /** Reply queues found missing, with when to try again (insertion order = age). */
  private readonly missing = new Map<string, number>();

  constructor(
    private readonly publisher: Publisher,
    private readonly now: () => number = Date.now,
  ) {}

  /** Sends `update` to `message`'s reply queue, if it names one; never throws. */
  async send(message: TaskMessage, update: ResultUpdate): Promise<void> {
    if (message.replyTo === null || this.knownMissing(message.replyTo)) return;
    const content = Buffer.from(toJson(celeryResultBody(message.id, update)) ?? 'null');
    try {
      // The default exchange routes by queue name: Celery's RPC backend does the same.
      await this.publisher.publish(
        '',
        message.replyTo,
        content,
        {
          messageId: randomUUID(),
          correlationId: message.correlationId,
          contentType: 'application/json',
          contentEncoding: 'utf-8',
        },
        { timeoutMs: REPLY_CONFIRM_TIMEOUT_MS },
      );
    } catch (error) {
      // Celery clients set reply_to even when they read results elsewhere: no queue, no reader.
      if (error instanceof UnroutableError) {
        this.rememberMissing(message.replyTo);
        return;
      }
      this.logger.warn(
        `result of ${message.task} ${message.id} not sent to reply queue ${message.replyTo}: ${String(error)}`,
      );
    }
  }

  private knownMissing(queue: string): boolean {
    const until = this.missing.get(queue);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.missing.delete(queue);
    return false;
  }

  private rememberMissing(queue: string): void {
    this.missing.delete(queue);
    this.missing.set(queue, this.now() + MISSING_REPLY_QUEUE_TTL_MS);
    if (this.missing.size > MISSING_REPLY_QUEUES_MAX) {
      const oldest = this.missing.keys().next();
      if (oldest.done !== true) this.missing.delete(oldest.value);
    }
  }
}
