import type { ResultStore } from '../results/result-store';
import type { ResultWaiter } from '../results/result-waiter';
import type { TaskResultRecord } from '../results/task-state';
import type { ReplyQueue } from './reply-queue';

/**
 * The task ended in FAILURE (or REVOKED); the stored error is attached. For a reply
 * (`reply: 'rpc'`, a Python Celery worker) `record.errorType` is the exception's type name
 * (Celery's `exc_type`, e.g. `ValueError`) and `record.errorMessage` its `str()`.
 */
export class TaskFailedError extends Error {
  override readonly name = 'TaskFailedError';
  constructor(readonly record: TaskResultRecord) {
    super(
      record.state === 'REVOKED'
        ? `task ${record.id} was revoked: ${record.errorMessage ?? 'no reason given'}`
        : `task ${record.id} failed: ${record.errorType ?? 'Error'}: ${record.errorMessage ?? ''}`,
    );
  }
}

export const RESULT_TIMEOUT_MS_DEFAULT = 30_000;

/**
 * What `send` returns: the task id and a way to wait for its outcome — from PostgreSQL, or
 * for a task sent with `reply: 'rpc'` from the reply message (then kept by the handle).
 */
export class TaskHandle<T = unknown> {
  private replied: TaskResultRecord | null = null;

  constructor(
    readonly id: string,
    private readonly store: ResultStore,
    private readonly waiter: ResultWaiter,
    /** Set when the outcome comes back as a reply message (`reply: 'rpc'`). */
    private readonly replies: ReplyQueue | null = null,
  ) {}

  /**
   * The stored state now; `null` while nothing has been recorded (Celery's PENDING). For a
   * reply: the reply once a wait received it (a Python worker stores nothing here).
   */
  async state(): Promise<TaskResultRecord | null> {
    return this.replied ?? (await this.store.get(this.id));
  }

  /** Waits for the finished record (SUCCESS, FAILURE or REVOKED) without throwing on failure. */
  async settled({ timeoutMs = RESULT_TIMEOUT_MS_DEFAULT } = {}): Promise<TaskResultRecord> {
    if (!this.replies) return this.waiter.wait(this.id, timeoutMs);
    this.replied ??= await this.replies.wait(this.id, timeoutMs);
    return this.replied;
  }

  /** The task's return value; throws TaskFailedError on FAILURE/REVOKED, TaskTimeoutError on timeout. */
  async result({ timeoutMs = RESULT_TIMEOUT_MS_DEFAULT } = {}): Promise<T> {
    const record = await this.settled({ timeoutMs });
    if (record.state !== 'SUCCESS') throw new TaskFailedError(record);
    return record.result as T;
  }
}
