/**
 * The work queues of Clearline, and the lanes they belong to. A task goes to the queue
 * that lists it in `tasks` (like Celery's `task_routes`); a task no queue lists goes to
 * the queue named by the first segment of its name (`ledger.create_transfers` →
 * `ledger`). Producers and workers read the routes from this one table, and every
 * service declares all the queues at start-up, so a producer never publishes into a
 * queue that does not exist yet.
 */
export const QUEUE = {
  gateway: 'gateway',
  gatewayWebhooks: 'gateway.webhooks',
  gatewayBatch: 'gateway.batch',
  ledger: 'ledger',
  ledgerBatch: 'ledger.batch',
  refund: 'refund',
  settlement: 'settlement',
  settlementRuns: 'settlement.runs',
} as const;
export type QueueName = (typeof QUEUE)[keyof typeof QUEUE];

/**
 * A lane is a kind of work with its own queues, prefetch window and handler pool, so
 * one kind never waits for another: a merchant's endpoint that never answers fills only
 * the webhook lane, a settlement of a million payments only the batch lane.
 */
export const TASK_LANE = {
  /** Money on a merchant's request path: payments, refunds, their ledger transfers, balances. */
  realtime: 'realtime',
  /** Webhook deliveries: each waits on a merchant's endpoint. */
  webhooks: 'webhooks',
  /** Settlement, reconciliation, sweeps, the ledger's expiry and check. */
  batch: 'batch',
} as const;
export type TaskLane = (typeof TASK_LANE)[keyof typeof TASK_LANE];
export const TASK_LANES: readonly TaskLane[] = Object.values(TASK_LANE);

/** How much of a lane one worker process takes at once. */
export interface TaskLaneSettings {
  /** Unacknowledged deliveries the broker may push to each of the lane's consumers. */
  prefetch: number;
  /** The lane's handlers running at once in one process. */
  concurrency: number;
}

/**
 * Each lane's defaults (a process overrides them with TASK_PREFETCH_<LANE> and
 * TASK_CONCURRENCY_<LANE>):
 * - realtime: 200 / 100, as before lanes: short database-bound tasks, the prefetch a
 *   couple of group-commit batches deep (the ledger raises it to 2,000 for its batches).
 * - webhooks: 64 / 64: a delivery mostly waits on a merchant's network, so handlers
 *   are cheap and as many may run as are prefetched; the window stays small so a
 *   replica holds no more deliveries than it runs, and another replica takes the rest.
 * - batch: 16 / 4: a batch task is long and heavy (a settlement of a merchant, a ledger
 *   check): four at once keep the database for the real-time lane, and a short window
 *   leaves the rest to other replicas.
 */
export const TASK_LANE_DEFAULTS: Readonly<Record<TaskLane, TaskLaneSettings>> = {
  realtime: { prefetch: 200, concurrency: 100 },
  webhooks: { prefetch: 64, concurrency: 64 },
  batch: { prefetch: 16, concurrency: 4 },
};

export interface WorkQueueDefinition {
  name: string;
  /** The kind of work in this queue: its consumers use this lane's prefetch and handler pool. */
  lane: TaskLane;
  /** Tasks routed here explicitly, whatever their name's first segment says. */
  tasks?: readonly string[];
  deliveryLimit?: number;
  singleActiveConsumer?: boolean;
  /**
   * An ordered lane: `shards` queues behind a consistent-hash exchange, and the lane's
   * tasks with the payload field each is ordered by. Its handlers say the same with
   * `@Task(name, { orderedBy })`; a worker refuses to start when they disagree.
   */
  ordered?: { shards: number; tasks: Readonly<Record<string, string>> };
}

export const WORK_QUEUES: readonly WorkQueueDefinition[] = [
  { name: QUEUE.gateway, lane: 'realtime', deliveryLimit: 5 },
  {
    name: QUEUE.gatewayWebhooks,
    lane: 'webhooks',
    tasks: ['gateway.deliver_webhook'],
    deliveryLimit: 5,
  },
  {
    name: QUEUE.gatewayBatch,
    lane: 'batch',
    tasks: ['gateway.resume_operations', 'gateway.settlement_event'],
    deliveryLimit: 5,
  },
  { name: QUEUE.ledger, lane: 'realtime', deliveryLimit: 5 },
  {
    name: QUEUE.ledgerBatch,
    lane: 'batch',
    tasks: ['ledger.expire_pendings', 'ledger.check'],
    deliveryLimit: 5,
  },
  { name: QUEUE.refund, lane: 'realtime', deliveryLimit: 5 },
  { name: QUEUE.settlement, lane: 'batch', deliveryLimit: 5 },
  {
    // A run's start and finalize: never queued behind the merchants and payouts a run
    // puts in `settlement` (a run of a thousand merchants queues a thousand payouts
    // there; its finalize waited behind them, ~11 s at a million payments).
    name: QUEUE.settlementRuns,
    lane: 'batch',
    tasks: ['settlement.start_run', 'settlement.finalize_run'],
    deliveryLimit: 5,
  },
];
