import type { ServiceName } from '@clearline/contracts';
import type { ClassConstructor } from 'class-transformer';
import type { RateLimit, RateLimitScope } from '../control/rate-limit';

/** An error class: errors that are instances of it match. */
export type ErrorClass = abstract new (...args: never[]) => Error;

/** Matches an error by what it is (a class) or by what it says (a predicate). */
export type ErrorMatcher = ErrorClass | ((error: unknown) => boolean);

/** How a task is run; declared once with its handler (`@Task(name, options)`). */
export interface TaskHandlerOptions {
  /** The queue this task is consumed from; by default the name's first segment. */
  queue?: string;
  /** Payload class; the payload is validated with class-validator before the handler runs. */
  payload?: ClassConstructor<object>;
  /**
   * The services that may send this task (by the broker user that published it, AMQP
   * `user_id`, which RabbitMQ checks); the service consuming it may always send it again
   * (retries, delays). A message from anyone else is dead-lettered `unauthorized-sender`
   * and changes nothing (no run, no result row, no reply). Unset: anyone on the vhost.
   */
  senders?: readonly ServiceName[];
  /**
   * Errors worth retrying (transient); anything else fails the task at once (FAILURE,
   * dead letter `failed`). Classes match by `instanceof`; predicates are called with
   * the error, e.g. `retryOn: [ProcessorUnavailableError, isTransientDatabaseError]`.
   * Never list `QueryFailedError`: a CHECK violation is not worth a retry.
   */
  retryOn?: readonly ErrorMatcher[];
  /** Retries after the first attempt. */
  retryCountMax?: number;
  /** Backoff before retry n is a random delay in [0, min(ceiling, base * 2^n)] ms. */
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
  /** Full jitter (true) or the exact exponential delay (false). */
  retryJitter?: boolean;
  /**
   * Run the handler in a database transaction that also records the task id in the
   * inbox and the SUCCESS result: effects, deduplication and outcome commit together,
   * and the message is acknowledged after the commit.
   */
  transactional?: boolean;
  /** Record STARTED when the handler begins (one more write per task). */
  trackStarted?: boolean;
  /**
   * Group commit: deliveries of this task that arrive together are handed to the
   * handler as one array (`payloads[]`, `TaskBatchContext`) and applied in one
   * transaction with one inbox claim and one result write; the handler returns one
   * result per payload. Implies `transactional`. If the batch transaction fails,
   * each task is run again alone, so one bad task never fails its neighbours.
   */
  batch?: TaskBatchOptions;
  /**
   * At this many milliseconds the handler's `ctx.signal` aborts with a
   * `SoftTimeLimitExceeded` reason; the handler may clean up. A call's `timeLimitSoftS`
   * wins over it.
   */
  timeLimitSoftMs?: number;
  /**
   * At this many milliseconds the run ends: FAILURE `TimeLimitExceeded`, transaction
   * rolled back, message settled by the retry policy, slot freed. A call's
   * `timeLimitHardS` wins over it; by default the module's `timeLimitHardMsDefault`.
   */
  timeLimitHardMs?: number;
  /**
   * At most this many tasks of this name start per second, minute or hour (`'10/m'`):
   * a task waits for its token without holding a handler slot. Not for batch tasks.
   */
  rateLimit?: RateLimit;
  /** `worker` (default, Celery's): each worker has its own rate; `global`: all workers share it. */
  rateLimitScope?: RateLimitScope;
  /**
   * Store no row for a successful run (queries whose answer only the caller needs): a
   * waiting caller still gets the result by notification. Failures are still stored.
   */
  ignoreResult?: boolean;
  /**
   * Ordered task: tasks with the same value of this payload field run one at a time,
   * in the order they were sent, across all workers. The task must be declared in an
   * ordered lane of the work queues (`ordered.tasks`) with the same field; a retry
   * waits in place, holding its shard, so later tasks of the key never overtake it.
   */
  orderedBy?: string;
}

export interface TaskBatchOptions {
  /** The most work one batch may carry, in units of `weight` (by default: tasks). */
  sizeMax: number;
  /** Batches of this task in flight at once in this process (default 1). */
  concurrency?: number;
  /** How much work one payload is (for example its number of transfers); at least 1. */
  weight?: (payload: unknown) => number;
}

export const RETRY_COUNT_MAX_DEFAULT = 3;
export const RETRY_BACKOFF_MS_DEFAULT = 1_000;
export const RETRY_BACKOFF_MAX_MS_DEFAULT = 600_000;

/** The delay before retry number `retries + 1` (exponential, with a ceiling and full jitter). */
export function retryDelayMs(
  options: TaskHandlerOptions,
  retries: number,
  random: () => number = Math.random,
): number {
  const base = options.retryBackoffMs ?? RETRY_BACKOFF_MS_DEFAULT;
  const ceiling = options.retryBackoffMaxMs ?? RETRY_BACKOFF_MAX_MS_DEFAULT;
  const exponential = Math.min(ceiling, base * 2 ** retries);
  return options.retryJitter === false ? exponential : Math.round(random() * exponential);
}

function isErrorClass(matcher: ErrorMatcher): matcher is ErrorClass {
  return typeof matcher.prototype === 'object' && matcher.prototype instanceof Error;
}

function matches(matcher: ErrorMatcher, error: unknown): boolean {
  return isErrorClass(matcher) ? error instanceof matcher : matcher(error);
}

/** The error is one the task declared transient (`retryOn`). */
export function isRetryable(options: TaskHandlerOptions, error: unknown): boolean {
  return (options.retryOn ?? []).some((matcher) => matches(matcher, error));
}

/** Attempt number `retries` (0 for the first) is the last one the task may make. */
export function isLastAttempt(options: TaskHandlerOptions, retries: number): boolean {
  return retries >= (options.retryCountMax ?? RETRY_COUNT_MAX_DEFAULT);
}

export function shouldRetry(options: TaskHandlerOptions, error: unknown, retries: number): boolean {
  return isRetryable(options, error) && !isLastAttempt(options, retries);
}
