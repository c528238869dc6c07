import { TaskClient, TaskTimeoutError } from '@clearline/tasks';

/**
 * The result of the task `taskId`, for a request that waits for it (woken by the task
 * layer's NOTIFY, no polling): up to `waitMs`, and only if the task succeeded with a
 * result `accept` recognises (a contract's guard: its version, its object). Null when
 * the wait ran out, the task ended otherwise, or its result is not one this code reads:
 * the caller then reads the object as it is now.
 */
export async function awaitTaskResult<T>(
  tasks: TaskClient,
  taskId: string,
  waitMs: number,
  accept: (result: unknown) => result is T,
): Promise<T | null> {
  if (waitMs <= 0) return null;
  try {
    const record = await tasks.handle(taskId).settled({ timeoutMs: waitMs });
    return record.state === 'SUCCESS' && accept(record.result) ? record.result : null;
  } catch (error) {
    if (!(error instanceof TaskTimeoutError)) throw error;
  }
  return null;
}
