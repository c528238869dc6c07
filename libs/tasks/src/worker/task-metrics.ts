import { Counter, Histogram } from 'prom-client';

/** Task-layer metrics in the process's default Prometheus registry. */
export const taskMetrics = {
  outcomes: new Counter({
    name: 'clearline_tasks_total',
    help: 'Tasks finished, by task and final state',
    labelNames: ['task', 'state'],
  }),
  retries: new Counter({
    name: 'clearline_task_retries_total',
    help: 'Task retries scheduled, by task',
    labelNames: ['task'],
  }),
  deferrals: new Counter({
    name: 'clearline_task_deferrals_total',
    help: 'Tasks put back for later by ctx.defer without spending a retry, by task',
    labelNames: ['task'],
  }),
  deadLetters: new Counter({
    name: 'clearline_task_dead_letters_total',
    help: 'Messages dead-lettered, by queue and reason',
    labelNames: ['queue', 'reason'],
  }),
  duplicates: new Counter({
    name: 'clearline_task_duplicates_total',
    help: 'Redeliveries acknowledged by the inbox without running again',
    labelNames: ['task'],
  }),
  duration: new Histogram({
    name: 'clearline_task_duration_seconds',
    help: 'Handler run time, by task',
    labelNames: ['task'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  }),
};
