import { processRoutes } from '../topology/task-routes';

/** How a producer wants one task sent. Every field is optional. */
export interface SendOptions {
  /** Task id; give one to make a send idempotent (the consumer's inbox deduplicates). */
  id?: string;
  /**
   * Queue to route to; by default the task's route in the work queues (`tasks`), else its
   * name's first segment (`ledger.post` → `ledger`).
   */
  queue?: string;
  /** Run no earlier than this many milliseconds from now. */
  countdownMs?: number;
  /** Run no earlier than this time. */
  eta?: Date;
  /** Do not run after this time (or this many milliseconds from now); the task ends REVOKED. */
  expires?: Date | number;
  rootId?: string;
  parentId?: string;
  group?: string;
  groupIndex?: number;
  /** Soft time limit of this call in seconds (Celery's `soft_time_limit`); wins over the task's. */
  timeLimitSoftS?: number;
  /** Hard time limit of this call in seconds (Celery's `time_limit`); wins over the task's. */
  timeLimitHardS?: number;
  /**
   * Store no row when it succeeds (header `ignore_result`): for queries whose answer only
   * this caller needs. `TaskHandle.result()` still gets it when waited for from this
   * process's `send`; `state()` finds nothing. Failures are still stored.
   */
  ignoreResult?: boolean;
  /**
   * The caller's reply queue (AMQP `reply_to`): the worker also sends the result there as a
   * message in the format of Celery's `rpc://` backend. Follow-ups of a workflow keep it.
   */
  replyTo?: string;
  /**
   * Who consumes the queue. `'clearline'` (the default): one of our work queues, reached
   * through `clearline.tasks` (and the delay levels for a countdown or eta). `'celery'`: a
   * queue of a Python Celery worker (`queue`, by default Celery's own `celery`), published
   * as Celery publishes `apply_async(queue=…)`: through the default exchange with the
   * queue's name as routing key, so it reaches the classic queue the worker declared. It is
   * never declared from here (nor as a quorum queue): a queue nobody declared makes `send`
   * reject with `UnroutableError`. A countdown or eta travels in the `eta` header only (the
   * Celery worker holds the task until then). The outcome comes back by `reply: 'rpc'`.
   */
  worker?: 'clearline' | 'celery';
  /**
   * `'rpc'`: the outcome comes back as a message, as with Celery's `rpc://` result backend:
   * `reply_to` = this client's reply queue, `correlation_id` = the task id, and the
   * handle's `result()`/`settled()` wait for that message instead of PostgreSQL's row (a
   * failure becomes a `TaskFailedError` with the worker's exception type and message).
   * Implied by `worker: 'celery'`, whose results never reach PostgreSQL. Not with `replyTo`.
   */
  reply?: 'rpc';
  /** Positional arguments (Celery's `args`); the payload is the keyword arguments. */
  args?: unknown[];
  /**
   * How long `send` waits for the broker's confirm, instead of the module's
   * `confirmTimeoutMs`: a query with a time budget of its own passes what is left of it.
   */
  confirmTimeoutMs?: number;
}

/** Celery's `task_default_queue`: where `worker: 'celery'` sends a task that names no queue. */
export const CELERY_DEFAULT_QUEUE = 'celery';

/** Whether the outcome of a send comes back as a reply message (`reply: 'rpc'`). */
export function repliesByRpc(options: Pick<SendOptions, 'reply' | 'worker'>): boolean {
  return options.reply === 'rpc' || options.worker === 'celery';
}

/**
 * The queue a task goes to when its producer names none: its route in this process's
 * work queues, else the first segment of its name.
 */
export function defaultQueue(task: string): string {
  return processRoutes.queueOf(task);
}
