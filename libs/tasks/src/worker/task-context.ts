import { BaseRpcContext } from '@nestjs/microservices';
import type { EntityManager } from 'typeorm';
import type { TaskMessage } from '../protocol/celery-message';
import { isLastAttempt, shouldRetry, type TaskHandlerOptions } from './task-options';
import { RetryRequested } from '../control/control-errors';

/**
 * Thrown by `ctx.defer()`: the handler cannot run the task now (a resource it needs is
 * busy) and asks for it to come back after `countdownMs`, as the same attempt. The
 * runner catches it; a handler never sees it.
 */
export class DeferRequested extends Error {
  override readonly name = 'Deferred';
  constructor(readonly countdownMs: number) {
    super(`deferred for ${countdownMs} ms`);
  }
}

/** The signal of a context made without one (tests, batch contexts): it never aborts. */
const NEVER_ABORTED = new AbortController().signal;

/**
 * What a handler may know about the task it runs (`@Ctx() ctx: TaskContext`): its
 * message, its queue, whether this is its last attempt, and, for transactional tasks,
 * the transaction (`manager`) its effects must use.
 */
export class TaskContext extends BaseRpcContext<[TaskMessage, string]> {
  constructor(
    message: TaskMessage,
    queue: string,
    private readonly transaction: EntityManager | null,
    private readonly options: TaskHandlerOptions = {},
    private readonly abortSignal: AbortSignal = NEVER_ABORTED,
  ) {
    super([message, queue]);
  }

  /**
   * Aborts at the task's soft time limit (reason `SoftTimeLimitExceeded`: clean up and
   * return), at its hard limit, or when it is revoked with `terminate`; hand it to I/O
   * (`fetch`, timers) so the work stops with it.
   */
  get signal(): AbortSignal {
    return this.abortSignal;
  }

  /**
   * Asks for another attempt, as Celery's `self.retry`: it throws, so nothing after it
   * runs and a transactional task's work rolls back. The task is sent again after
   * `countdownMs` (by default its backoff) with retries + 1 and state RETRY, whatever its
   * `retryOn` says; once its retries are spent it dead-letters (`retries-exhausted`)
   * with `error`, or `MaxRetriesExceededError`.
   */
  retry(options: { countdownMs?: number; error?: Error } = {}): never {
    throw new RetryRequested(options.countdownMs ?? null, options.error ?? null);
  }

  /**
   * Puts the task back for later without spending an attempt: "not now", not "failed".
   * It throws, so nothing after it runs and a transactional task's work (its inbox claim
   * too) rolls back. The same message (same id, same `retries`) goes through the delay
   * levels with an eta `countdownMs` from now and the delivery is acknowledged; no state
   * is recorded (the task stays PENDING, or RETRY after an earlier failed attempt, as it
   * was) and `clearline_task_deferrals_total` counts it. Use it when the handler would
   * otherwise wait holding a slot (a per-merchant limit is full); a task that defers
   * forever never ends, so the condition must clear by itself. Ordered tasks cannot defer:
   * through the delay levels they would lose their place in their key's order.
   */
  defer(options: { countdownMs: number }): never {
    const { countdownMs } = options;
    if (!Number.isInteger(countdownMs) || countdownMs < 0) {
      throw new RangeError(`defer: countdownMs must be a whole number >= 0, not ${countdownMs}`);
    }
    if (this.options.orderedBy !== undefined) {
      throw new Error(`defer: ordered task ${this.message.task} cannot be deferred`);
    }
    throw new DeferRequested(countdownMs);
  }

  get message(): TaskMessage {
    return this.args[0];
  }

  get queue(): string {
    return this.args[1];
  }

  get taskId(): string {
    return this.args[0].id;
  }

  /** Retries before this attempt: 0 on the first. */
  get retries(): number {
    return this.args[0].retries;
  }

  /**
   * No retry follows this attempt, whatever it throws: a handler that must leave a
   * final state behind (a payment failed, a hold released) does so now.
   */
  get isLastAttempt(): boolean {
    return isLastAttempt(this.options, this.retries);
  }

  /**
   * The task layer will run this task again if the handler throws `error`: the error
   * is one the task declared transient (`retryOn`) and retries are left. When false, a
   * throw ends the task (FAILURE and a dead letter).
   */
  willRetry(error: unknown): boolean {
    return shouldRetry(this.options, error, this.retries);
  }

  /** The handler's transaction; only transactional tasks have one. */
  get manager(): EntityManager {
    if (!this.transaction) throw new Error(`task ${this.message.task} is not transactional`);
    return this.transaction;
  }
}

/**
 * What a batch handler (`@Task(name, { batch })`) knows about its batch: the tasks, in
 * the order of the payloads it receives, and the one transaction they commit in.
 */
export class TaskBatchContext extends BaseRpcContext<[TaskMessage[], string]> {
  constructor(
    messages: TaskMessage[],
    queue: string,
    readonly manager: EntityManager,
  ) {
    super([messages, queue]);
  }

  get messages(): TaskMessage[] {
    return this.args[0];
  }

  get queue(): string {
    return this.args[1];
  }
}
