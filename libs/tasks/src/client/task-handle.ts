import type { ResultStore } from '../results/result-store';
import type { ResultWaiter } from '../results/result-waiter';
import type { TaskResultRecord } from '../results/task-state';

/** The task ended in FAILURE (or REVOKED); the stored error is attached. */
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

/** What `send` returns: the task id and a way to wait for its outcome. */
export class TaskHandle<T = unknown> {
  constructor(
    readonly id: string,
    private readonly store: ResultStore,
    private readonly waiter: ResultWaiter,
  ) {}

  /** The stored state now; `null` while nothing has been recorded (Celery's PENDING). */
  state(): Promise<TaskResultRecord | null> {
    return this.store.get(this.id);
  }

  /** Waits for the finished record (SUCCESS, FAILURE or REVOKED) without throwing on failure. */
  settled({ timeoutMs = RESULT_TIMEOUT_MS_DEFAULT } = {}): Promise<TaskResultRecord> {
    return this.waiter.wait(this.id, timeoutMs);
  }

  /** The task's return value; throws TaskFailedError on FAILURE/REVOKED, TaskTimeoutError on timeout. */
  async result({ timeoutMs = RESULT_TIMEOUT_MS_DEFAULT } = {}): Promise<T> {
    const record = await this.settled({ timeoutMs });
    if (record.state !== 'SUCCESS') throw new TaskFailedError(record);
    return record.result as T;
  }
}
