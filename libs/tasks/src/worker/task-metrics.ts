import { Counter, Gauge, Histogram } from 'prom-client';
import { DEAD_LETTER_EXCHANGE } from '../topology/topology';
import { processRoutes } from '../topology/task-routes';

/**
 * The labels of a task's series: its name and the lane of its queue. Both are bounded:
 * task names are the handlers a service registers (a name a worker does not know is
 * labelled `unregistered`, so junk on the wire cannot grow the series), lanes are three.
 */
export interface TaskLabels {
  task: string;
  lane: string;
}

/** The label a task name the worker has no handler for is counted under. */
export const UNREGISTERED_TASK = 'unregistered';

/** The labels of `task` consumed from `queue` (the lane is the queue's). */
export function taskLabels(task: string, queue: string): TaskLabels {
  return { task, lane: processRoutes.laneOf(queue) };
}

/** The labels of `task` as its producers route it (no queue named: by its route). */
export function sentTaskLabels(task: string): TaskLabels {
  return { task, lane: processRoutes.laneOf(processRoutes.queueOf(task)) };
}

/**
 * The labels of a message being published when it is a task (Celery's `task` header),
 * null otherwise (results, events, control) and for a dead letter, which is a copy of a
 * task already counted and is counted by `clearline_task_dead_letters_total` instead.
 */
export function publishedTaskLabels(
  exchange: string,
  headers: Record<string, unknown> | undefined,
): TaskLabels | null {
  const task = headers?.['task'];
  if (typeof task !== 'string' || exchange === DEAD_LETTER_EXCHANGE) return null;
  return sentTaskLabels(task);
}

/** Task-layer metrics in the process's default Prometheus registry. */
export const taskMetrics = {
  published: new Counter({
    name: 'clearline_tasks_published_total',
    help: 'Task messages handed to the broker (sends, outbox rows, workflow steps, retries), by task and lane',
    labelNames: ['task', 'lane'],
  }),
  confirmed: new Counter({
    name: 'clearline_tasks_confirmed_total',
    help: 'Task messages the broker confirmed (published less confirmed: timed out, refused or unroutable), by task and lane',
    labelNames: ['task', 'lane'],
  }),
  started: new Counter({
    name: 'clearline_tasks_started_total',
    help: 'Task runs begun by a handler of this worker (a batch counts each of its tasks), by task and lane',
    labelNames: ['task', 'lane'],
  }),
  outcomes: new Counter({
    name: 'clearline_tasks_total',
    help: 'Tasks finished, by task, lane and final state (SUCCESS, FAILURE, REVOKED)',
    labelNames: ['task', 'lane', 'state'],
  }),
  retries: new Counter({
    name: 'clearline_task_retries_total',
    help: 'Task retries scheduled, by task and lane',
    labelNames: ['task', 'lane'],
  }),
  deferrals: new Counter({
    name: 'clearline_task_deferrals_total',
    help: 'Tasks put back for later by ctx.defer without spending a retry, by task',
    labelNames: ['task'],
  }),
  deadLetters: new Counter({
    name: 'clearline_task_dead_letters_total',
    help: 'Messages dead-lettered, by queue, lane, task (unregistered when unknown or undecodable) and reason',
    labelNames: ['queue', 'lane', 'task', 'reason'],
  }),
  duplicates: new Counter({
    name: 'clearline_task_duplicates_total',
    help: 'Redeliveries acknowledged by the inbox without running again, by task and lane',
    labelNames: ['task', 'lane'],
  }),
  duration: new Histogram({
    name: 'clearline_task_duration_seconds',
    help: 'Handler run time, by task and lane',
    labelNames: ['task', 'lane'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  }),
};

/** One lane's handler pool in a worker, as read when metrics are scraped. */
export interface LaneLoad {
  lane: string;
  /** Handlers running now. */
  busy: number;
  /** Deliveries prepared and waiting for one of the lane's handlers. */
  waiting: number;
  /** The lane's handlers at most (its concurrency). */
  size: number;
}

const laneSources = new Set<() => LaneLoad[]>();

/** Sums every worker's lanes of this process into the gauge (one worker in a service). */
function collectLanes(gauge: Gauge, pick: (load: LaneLoad) => number): void {
  gauge.reset();
  const totals = new Map<string, number>();
  for (const source of laneSources) {
    for (const load of source()) totals.set(load.lane, (totals.get(load.lane) ?? 0) + pick(load));
  }
  for (const [lane, value] of totals) gauge.set({ lane }, value);
}

/**
 * How full each lane's handler pool is, read on scrape: a lane whose `busy` stays at
 * `size` with deliveries `waiting` is saturated (raise its concurrency or add workers),
 * and the other lanes' figures show it is not taking their share.
 */
export const laneMetrics = {
  busy: new Gauge({
    name: 'clearline_task_lane_handlers_busy',
    help: 'Handlers running now, by lane',
    labelNames: ['lane'],
    collect(this: Gauge) {
      collectLanes(this, (load) => load.busy);
    },
  }),
  waiting: new Gauge({
    name: 'clearline_task_lane_deliveries_waiting',
    help: 'Deliveries waiting for a handler of their lane, by lane',
    labelNames: ['lane'],
    collect(this: Gauge) {
      collectLanes(this, (load) => load.waiting);
    },
  }),
  size: new Gauge({
    name: 'clearline_task_lane_handlers_max',
    help: 'Handlers a lane may run at once (its concurrency), by lane',
    labelNames: ['lane'],
    collect(this: Gauge) {
      collectLanes(this, (load) => load.size);
    },
  }),
  /** Adds a worker's lanes to the gauges; returns the function that removes them. */
  watch(source: () => LaneLoad[]): () => void {
    laneSources.add(source);
    return () => laneSources.delete(source);
  },
};
