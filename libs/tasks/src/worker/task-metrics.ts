import { Counter, Gauge, Histogram } from 'prom-client';

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
