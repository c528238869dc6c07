import { WORK_QUEUES } from '@clearline/contracts';
import type { TasksModuleOptions } from '@clearline/tasks';

/** The benchmark's own work queue beside the real ones, and the worker settings it runs with. */
export const BENCH_TASK_OPTIONS: Partial<TasksModuleOptions> = {
  workQueues: [...WORK_QUEUES, { name: 'bench' }],
  prefetch: 200,
  concurrency: 200,
  outboxRelay: false,
};
