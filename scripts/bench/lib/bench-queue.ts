import { WORK_QUEUES } from '@clearline/contracts';
import type { TasksModuleOptions } from '@clearline/tasks';

/** The benchmark's own work queue; `bench.*` tasks are routed to it by their first segment. */
export const BENCH_QUEUE = 'bench';

/** The benchmark's own work queue beside the real ones, and the worker settings it runs with. */
export const BENCH_TASK_OPTIONS: Partial<TasksModuleOptions> = {
  workQueues: [...WORK_QUEUES, { name: BENCH_QUEUE }],
  prefetch: 200,
  concurrency: 200,
  outboxRelay: false,
};
