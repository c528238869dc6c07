import { RESULT_TIMEOUT_MS_DEFAULT, TaskFailedError, TaskHandle } from '../client/task-handle';
import type { ResultStore } from '../results/result-store';
import type { ResultWaiter } from '../results/result-waiter';
import type { TaskResultRecord } from '../results/task-state';

/** What applying a group returns: its id, its members' ids in order, and their outcomes. */
export class GroupHandle<T = unknown> {
  constructor(
    /** The group id (the `group` header of every member). */
    readonly id: string,
    /** The members' task ids, in the group's order. */
    readonly ids: readonly string[],
    private readonly store: ResultStore,
    private readonly waiter: ResultWaiter,
  ) {}

  /** A handle on each member, in order. */
  handles(): TaskHandle<T>[] {
    return this.ids.map((id) => new TaskHandle<T>(id, this.store, this.waiter));
  }

  /** Waits until every member finished; their records, in order (failures included). */
  settled({ timeoutMs = RESULT_TIMEOUT_MS_DEFAULT } = {}): Promise<TaskResultRecord[]> {
    // One deadline for the whole group, not one per member.
    return Promise.all(this.ids.map((id) => this.waiter.wait(id, timeoutMs)));
  }

  /**
   * The members' results in order, once all finished (Celery's `GroupResult.get`).
   * Throws {@link TaskFailedError} for the first member (in order) that did not
   * succeed, and `TaskTimeoutError` when the group is not done within `timeoutMs`.
   */
  async results({ timeoutMs = RESULT_TIMEOUT_MS_DEFAULT } = {}): Promise<T[]> {
    const records = await this.settled({ timeoutMs });
    const failed = records.find((record) => record.state !== 'SUCCESS');
    if (failed) throw new TaskFailedError(failed);
    return records.map((record) => record.result as T);
  }
}
