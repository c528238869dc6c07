import { TaskClient, TaskTimeoutError } from '@clearline/tasks';

/**
 * The API object a task returned, for the real-time answer: waits up to `waitMs` for the
 * task `taskId` to finish and returns its result if it is the `object` with this `id`
 * (what the payment and refund tasks return). Null when the wait ran out or the task
 * ended otherwise: the caller then reads the object as it is now.
 */
export async function taskObject<T extends { object: string; id: string }>(
  tasks: TaskClient,
  taskId: string,
  waitMs: number,
  expected: Pick<T, 'object' | 'id'>,
): Promise<T | null> {
  if (waitMs <= 0) return null;
  try {
    const record = await tasks.handle(taskId).settled({ timeoutMs: waitMs });
    const result = record.result as Partial<T> | null;
    if (
      record.state === 'SUCCESS' &&
      typeof result === 'object' &&
      result !== null &&
      result.object === expected.object &&
      result.id === expected.id
    ) {
      return result as T;
    }
  } catch (error) {
    if (!(error instanceof TaskTimeoutError)) throw error;
  }
  return null;
}
