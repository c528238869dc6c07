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
  /** Positional arguments instead of a keyword payload. */
  args?: unknown[];
  /**
   * How long `send` waits for the broker's confirm, instead of the module's
   * `confirmTimeoutMs`: a query with a time budget of its own passes what is left of it.
   */
  confirmTimeoutMs?: number;
}

/**
 * The queue a task goes to when its producer names none: its route in this process's
 * work queues, else the first segment of its name.
 */
export function defaultQueue(task: string): string {
  return processRoutes.queueOf(task);
}
