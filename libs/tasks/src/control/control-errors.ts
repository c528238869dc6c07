/**
 * The errors of task control, named as Celery names them so operators and Python tools
 * read the same `error_type` in `task_results`.
 */

/**
 * The task's soft time limit passed: the reason of its `ctx.signal` abort. The handler
 * may clean up and return or throw; the hard limit still applies.
 */
export class SoftTimeLimitExceeded extends Error {
  override readonly name = 'SoftTimeLimitExceeded';
  constructor(readonly limitMs: number) {
    super(`soft time limit (${limitMs} ms) exceeded`);
  }
}

/**
 * The task's hard time limit passed: the worker stopped waiting for the handler, rolled
 * its transaction back and settled the message by the task's retry policy (list it in
 * `retryOn` to retry). Recorded as FAILURE with this error type.
 */
export class TimeLimitExceeded extends Error {
  override readonly name = 'TimeLimitExceeded';
  constructor(readonly limitMs: number) {
    super(`hard time limit (${limitMs} ms) exceeded`);
  }
}

/** The task was revoked with `terminate` while it ran: the reason of its `ctx.signal` abort. */
export class TaskRevokedError extends Error {
  override readonly name = 'TaskRevokedError';
}

/**
 * Thrown by `ctx.retry()` (Celery's `Retry`): the handler asks to run again after
 * `countdownMs`, whatever its `retryOn` says.
 */
export class RetryRequested extends Error {
  override readonly name = 'Retry';
  constructor(
    readonly countdownMs: number | null,
    readonly reason: Error | null,
  ) {
    super(reason ? `retry requested: ${reason.message}` : 'retry requested');
  }
}

/** `ctx.retry()` was called on the last attempt (Celery's `MaxRetriesExceededError`). */
export class MaxRetriesExceededError extends Error {
  override readonly name = 'MaxRetriesExceededError';
}
