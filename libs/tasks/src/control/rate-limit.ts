import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';

/** A task rate as Celery writes it: tasks per second, minute or hour (`'100/s'`, `'10/m'`). */
export type RateLimit = `${number}/${'s' | 'm' | 'h'}`;

/** Where a rate is counted: in each worker (Celery's behaviour) or across all workers. */
export type RateLimitScope = 'worker' | 'global';

/** The fastest rate accepted; beyond it a limit only costs work. */
export const RATE_PER_S_MAX = 100_000;
/** Tokens one worker claims from PostgreSQL in one statement, for a global rate. */
export const GLOBAL_TOKEN_BATCH_MAX = 32;

const PERIOD_MS = { s: 1_000, m: 60_000, h: 3_600_000 } as const;

/** Milliseconds between two tasks at this rate; throws naming the task on a bad rate. */
export function rateIntervalMs(task: string, rate: string): number {
  const match = /^(\d+(?:\.\d+)?)\/([smh])$/.exec(rate);
  const count = match ? Number(match[1]) : NaN;
  const unit = match?.[2] as keyof typeof PERIOD_MS | undefined;
  if (unit === undefined || !(count > 0)) {
    throw new Error(`task ${task}: rateLimit '${rate}' is not '<tasks>/s', '/m' or '/h'`);
  }
  const intervalMs = PERIOD_MS[unit] / count;
  if (intervalMs < 1_000 / RATE_PER_S_MAX) {
    throw new Error(`task ${task}: rateLimit '${rate}' is above ${RATE_PER_S_MAX}/s`);
  }
  return intervalMs;
}

/** A token source: `take` resolves true when the task may start, false when the worker closes. */
export interface TokenSource {
  take(): Promise<boolean>;
  close(): void;
}

type Waiter = (granted: boolean) => void;

/**
 * Celery's per-worker token bucket with a capacity of one: a task starts at least
 * `intervalMs` after the previous one, measured when the tokens are actually taken,
 * so a late timer never lets the next task catch up. Waiters are served in order.
 */
export class LocalTokenBucket implements TokenSource {
  private lastTakenMs = -Infinity;
  private readonly waiting: Waiter[] = [];
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  take(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      this.waiting.push(resolve);
      this.pump();
    });
  }

  private pump(): void {
    while (this.timer === null && this.waiting.length > 0) {
      const now = this.now();
      const waitMs = this.lastTakenMs + this.intervalMs - now;
      if (waitMs > 0) {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.pump();
        }, Math.ceil(waitMs));
        return;
      }
      this.lastTakenMs = now;
      this.waiting.shift()?.(true);
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const waiter of this.waiting.splice(0)) waiter(false);
  }
}

/**
 * One statement claims `count` consecutive slots of a task's global schedule (GCRA):
 * the row holds the time the next slot becomes free; the claim moves it on by
 * `count * interval` from no earlier than now, under the row's lock, so workers get
 * disjoint slots `interval` apart. Times are PostgreSQL's, answered as offsets from its
 * own now, so worker clocks never matter.
 */
const CLAIM_SQL = `
  WITH c AS (SELECT clock_timestamp() AS now)
  INSERT INTO task_rate_limits AS r (task, next_at)
    SELECT $1, c.now + make_interval(secs => $2::float8 / 1000) FROM c
  ON CONFLICT (task) DO UPDATE
    SET next_at = greatest(r.next_at, (SELECT now FROM c)) + make_interval(secs => $2::float8 / 1000)
  RETURNING (extract(epoch FROM r.next_at - (SELECT now FROM c)) * 1000)::float8 AS end_in_ms`;

/**
 * A rate counted across every worker in PostgreSQL (`rateLimitScope: 'global'`): the
 * tasks waiting in this worker claim their slots together, one statement per batch, and
 * each starts when its slot comes. A slot is never earlier than PostgreSQL handed it
 * out; slots claimed by a worker that stops are simply lost (the rate errs low).
 */
export class GlobalTokenBucket implements TokenSource {
  private readonly logger = new Logger(GlobalTokenBucket.name);
  private readonly waiting: Waiter[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly scheduled = new Set<Waiter>();
  private claiming = false;
  private closed = false;

  constructor(
    private readonly task: string,
    private readonly intervalMs: number,
    private readonly dataSource: DataSource,
  ) {}

  take(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      this.waiting.push(resolve);
      this.pump();
    });
  }

  private pump(): void {
    if (this.claiming || this.closed || this.waiting.length === 0) return;
    this.claiming = true;
    const batch = this.waiting.splice(0, GLOBAL_TOKEN_BATCH_MAX);
    void this.claim(batch.length)
      .then(
        (firstInMs) =>
          batch.forEach((waiter, i) => this.schedule(waiter, firstInMs + i * this.intervalMs)),
        (error: unknown) => {
          // Without the database there is no token: the tasks go back to the queue.
          this.logger.warn(`claiming rate tokens of ${this.task} failed: ${String(error)}`);
          for (const waiter of batch) waiter(false);
        },
      )
      .finally(() => {
        this.claiming = false;
        this.pump();
      });
  }

  /** Claims `count` slots; answers in how many ms (from now) the first one starts. */
  private async claim(count: number): Promise<number> {
    const spanMs = count * this.intervalMs;
    const rows: { end_in_ms: number }[] = await this.dataSource.query(CLAIM_SQL, [
      this.task,
      spanMs,
    ]);
    return Math.max(0, (rows[0]?.end_in_ms ?? spanMs) - spanMs);
  }

  private schedule(waiter: Waiter, inMs: number): void {
    if (this.closed || inMs <= 0) {
      waiter(!this.closed);
      return;
    }
    this.scheduled.add(waiter);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.scheduled.delete(waiter);
      waiter(true);
    }, Math.ceil(inMs));
    this.timers.add(timer);
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const waiter of [...this.scheduled, ...this.waiting.splice(0)]) waiter(false);
    this.scheduled.clear();
  }
}

/** The token sources of one worker, one per rate-limited task name. */
export class RateLimiters {
  private readonly buckets = new Map<string, TokenSource>();
  private closed = false;

  constructor(private readonly dataSource: DataSource) {}

  /** Resolves true when `task` may start now; false when the worker is closing. */
  take(task: string, rate: string, scope: RateLimitScope = 'worker'): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    let bucket = this.buckets.get(task);
    if (!bucket) {
      const intervalMs = rateIntervalMs(task, rate);
      bucket =
        scope === 'global'
          ? new GlobalTokenBucket(task, intervalMs, this.dataSource)
          : new LocalTokenBucket(intervalMs);
      this.buckets.set(task, bucket);
    }
    return bucket.take();
  }

  /** Releases every waiting task (false): the worker gives them back to the broker. */
  close(): void {
    this.closed = true;
    for (const bucket of this.buckets.values()) bucket.close();
  }
}
