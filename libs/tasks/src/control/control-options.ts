import type { TaskHandlerOptions } from '../worker/task-options';
import { rateIntervalMs } from './rate-limit';
import { validateTimeLimits } from './time-limits';

/**
 * Checks the control options of every handler at boot, so a worker with a rate it cannot
 * read or a limit that cannot work refuses to start, naming the task.
 */
export function validateControlOptions(
  handlers: readonly (readonly [string, TaskHandlerOptions])[],
): void {
  for (const [task, options] of handlers) {
    validateTimeLimits(task, {
      ...(options.timeLimitSoftMs !== undefined
        ? { timeLimitSoftMs: options.timeLimitSoftMs }
        : {}),
      ...(options.timeLimitHardMs !== undefined
        ? { timeLimitHardMs: options.timeLimitHardMs }
        : {}),
    });
    if (options.rateLimitScope !== undefined && options.rateLimit === undefined) {
      throw new Error(`task ${task}: rateLimitScope without a rateLimit`);
    }
    if (options.rateLimit === undefined) continue;
    rateIntervalMs(task, options.rateLimit);
    if (options.batch) throw new Error(`task ${task}: a batch task cannot have a rateLimit`);
    if (
      options.rateLimitScope !== undefined &&
      !['worker', 'global'].includes(options.rateLimitScope)
    ) {
      throw new Error(`task ${task}: rateLimitScope is 'worker' or 'global'`);
    }
  }
}
