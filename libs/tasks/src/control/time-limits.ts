import type { TaskMessage } from '../protocol/celery-message';
import { SoftTimeLimitExceeded, TaskRevokedError, TimeLimitExceeded } from './control-errors';

/** Every task's hard limit unless its `@Task` options or its message say otherwise. */
export const TIME_LIMIT_HARD_MS_DEFAULT = 300_000;
/** The longest limit a timer can hold (setTimeout's 32-bit ceiling, about 24.8 days). */
export const TIME_LIMIT_MS_MAX = 2 ** 31 - 1;

/** A task's limits in milliseconds; `softMs` null when it has none. */
export interface TimeLimits {
  softMs: number | null;
  hardMs: number;
}

/** Limits declared with a task (`@Task(name, { timeLimitSoftMs, timeLimitHardMs })`). */
export interface TimeLimitOptions {
  timeLimitSoftMs?: number;
  timeLimitHardMs?: number;
}

function clampMs(ms: number): number {
  return Math.min(TIME_LIMIT_MS_MAX, Math.max(1, Math.round(ms)));
}

/**
 * The limits of one run: the message's `timelimit` header (seconds, set per call, as
 * Celery sends it) wins over the task's options (milliseconds), which win over the
 * module's default hard limit.
 */
export function timeLimitsOf(
  message: Pick<TaskMessage, 'timeLimitHardS' | 'timeLimitSoftS'>,
  options: TimeLimitOptions,
  hardMsDefault: number = TIME_LIMIT_HARD_MS_DEFAULT,
): TimeLimits {
  const hard =
    message.timeLimitHardS !== null && message.timeLimitHardS > 0
      ? message.timeLimitHardS * 1000
      : (options.timeLimitHardMs ?? hardMsDefault);
  const soft =
    message.timeLimitSoftS !== null && message.timeLimitSoftS > 0
      ? message.timeLimitSoftS * 1000
      : (options.timeLimitSoftMs ?? null);
  return { hardMs: clampMs(hard), softMs: soft === null ? null : clampMs(soft) };
}

/** Throws at boot for limits that could never work (programmer errors in `@Task` options). */
export function validateTimeLimits(task: string, options: TimeLimitOptions): void {
  for (const [field, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new Error(`task ${task}: ${field} must be a positive number of milliseconds`);
    }
  }
}

/**
 * One running task's watch: its AbortSignal (`ctx.signal`), fired at the soft limit or on
 * a terminating revoke, and `stopped`, which rejects at the hard limit or on a
 * terminating revoke so the runner stops waiting for the handler. `onStop` lets the
 * runner cut the handler's database connection so nothing it does later can commit.
 */
export class TaskGuard {
  private readonly controller = new AbortController();
  private readonly timers: NodeJS.Timeout[] = [];
  private rejectStopped: (error: Error) => void = () => undefined;
  private stopError: Error | null = null;
  /** Rejects when the run must end now; never resolves. */
  readonly stopped: Promise<never>;
  /** Called once when the run is stopped (hard limit or terminate). */
  onStop: ((error: Error) => void) | null = null;

  constructor(
    readonly taskId: string,
    readonly limits: TimeLimits,
  ) {
    this.stopped = new Promise<never>((_resolve, reject) => {
      this.rejectStopped = reject;
    });
    // Nobody may be racing it yet; the rejection is read through `race`.
    this.stopped.catch(() => undefined);
    const { softMs, hardMs } = limits;
    // A limit never keeps the process alive by itself: a task abandoned at shutdown (past
    // the drain) must not hold a stopped worker's process for hours.
    if (softMs !== null && softMs < hardMs) {
      this.timers.push(
        setTimeout(() => this.controller.abort(new SoftTimeLimitExceeded(softMs)), softMs).unref(),
      );
    }
    this.timers.push(setTimeout(() => this.stop(new TimeLimitExceeded(hardMs)), hardMs).unref());
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Why the run was stopped, once it was. */
  get stoppedBy(): Error | null {
    return this.stopError;
  }

  /** Ends the run now: a terminating revoke. */
  terminate(reason: string | null): void {
    this.stop(new TaskRevokedError(reason ?? 'revoked with terminate'));
  }

  /** `work`, unless the run is stopped first. */
  race<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.stopped]);
  }

  private stop(error: Error): void {
    if (this.stopError) return;
    this.stopError = error;
    if (!this.controller.signal.aborted) this.controller.abort(error);
    this.rejectStopped(error);
    try {
      this.onStop?.(error);
    } catch {
      // Cleanup is best effort; the run is over either way.
    }
  }

  /** The run is over: no timer may fire for it any more. */
  dispose(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.length = 0;
  }
}
