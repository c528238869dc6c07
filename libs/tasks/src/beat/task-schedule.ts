import { strict as assert } from 'node:assert';
import { CronExpressionParser } from 'cron-parser';

/**
 * A periodic task, declared in code (Celery's `beat_schedule` entry): the task `task` is
 * sent once per slot of a cron expression in a time zone, or once per interval.
 *
 * Interval slots are aligned to the Unix epoch (`everyMs: 60_000` fires at every whole
 * minute), so every replica computes the same slots and a slot has one identity.
 */
export interface TaskSchedule {
  /** Unique within its service; names the slots and the tasks (`beat:<service>:<name>:<slot>`). */
  name: string;
  /** The task to send, e.g. `ledger.expire_pendings`. */
  task: string;
  /** Keyword arguments of every task sent. */
  kwargs?: Record<string, unknown>;
  /** Positional arguments of every task sent. */
  args?: unknown[];
  /** A cron expression, 5 fields or 6 (with seconds first). Exactly one of `cron`, `everyMs`. */
  cron?: string;
  /** IANA time zone of `cron` (DST handled as cron does), `UTC` unless given. */
  timezone?: string;
  /** An interval in milliseconds, at least EVERY_MS_MIN. */
  everyMs?: number;
  /**
   * How late a slot may still be sent when no scheduler led at its time (a failover, a
   * deploy): GRACE_MS_DEFAULT unless given, at most GRACE_MS_MAX. Older slots are skipped.
   */
  graceMs?: number;
  /** Queue to send to; by default the task name's first segment. */
  queue?: string;
  /** The task is REVOKED if no worker started it this long after it was sent. */
  expiresMs?: number;
}

/**
 * A slot may be sent up to five minutes late by default: long enough to cover a leader's
 * failover and a rolling deploy, short enough that a schedule does not fire a burst of
 * stale runs after a long outage (a slot that old is skipped and logged).
 */
export const GRACE_MS_DEFAULT = 5 * 60_000;
/** The longest grace window (a day): slot rows are kept longer than this (retention). */
export const GRACE_MS_MAX = 24 * 3_600_000;
/** The shortest interval a schedule may have. */
export const EVERY_MS_MIN = 100;
/** The longest interval a schedule may have (a leap year). */
export const EVERY_MS_MAX = 366 * 24 * 3_600_000;
/** At most this many slots of one schedule are sent by one pass; the next pass sends the rest. */
export const SLOTS_PER_PASS_MAX = 100;
/** A cron expression is walked at most this many slots to count skipped ones. */
const SLOT_WALK_MAX = 10_000;
const NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,100}$/;

/** A schedule that is not valid: the service refuses to start, naming it. */
export class ScheduleError extends Error {
  constructor(schedule: string, problem: string) {
    super(`schedule "${schedule}": ${problem}`);
    this.name = 'ScheduleError';
  }
}

/** The timing part of a schedule, as stored and as planned. */
export interface ScheduleTiming {
  cron?: string | null;
  timezone?: string | null;
  everyMs?: number | null;
  graceMs?: number | null;
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Checks one schedule; throws ScheduleError naming it and the problem. */
export function validateSchedule(schedule: TaskSchedule): void {
  const name = schedule.name;
  if (!NAME_PATTERN.test(name)) throw new ScheduleError(name, `name must match ${NAME_PATTERN}`);
  if (schedule.task.length === 0) throw new ScheduleError(name, 'task is empty');
  const hasCron = schedule.cron !== undefined;
  if (hasCron === (schedule.everyMs !== undefined))
    throw new ScheduleError(name, 'give exactly one of cron and everyMs');
  const { everyMs, graceMs, timezone, expiresMs } = schedule;
  if (everyMs !== undefined && !isIntegerIn(everyMs, EVERY_MS_MIN, EVERY_MS_MAX))
    throw new ScheduleError(
      name,
      `everyMs must be an integer in [${EVERY_MS_MIN}, ${EVERY_MS_MAX}]`,
    );
  if (graceMs !== undefined && !isIntegerIn(graceMs, 0, GRACE_MS_MAX))
    throw new ScheduleError(name, `graceMs must be an integer in [0, ${GRACE_MS_MAX}]`);
  if (expiresMs !== undefined && !isIntegerIn(expiresMs, 1, EVERY_MS_MAX))
    throw new ScheduleError(name, 'expiresMs must be a positive integer');
  if (timezone !== undefined && !hasCron)
    throw new ScheduleError(name, 'timezone applies to cron only');
  if (timezone !== undefined && !isTimeZone(timezone))
    throw new ScheduleError(name, `unknown time zone ${JSON.stringify(timezone)}`);
  if (schedule.cron !== undefined) {
    try {
      CronExpressionParser.parse(schedule.cron, { tz: timezone ?? 'UTC', strict: false }).next();
    } catch (error) {
      throw new ScheduleError(name, `bad cron ${JSON.stringify(schedule.cron)}: ${String(error)}`);
    }
  }
}

/** Checks a scheduler's schedules: each valid, names distinct. */
export function validateSchedules(schedules: readonly TaskSchedule[]): void {
  const seen = new Set<string>();
  for (const schedule of schedules) {
    validateSchedule(schedule);
    if (seen.has(schedule.name)) throw new ScheduleError(schedule.name, 'name used twice');
    seen.add(schedule.name);
  }
}

function isIntegerIn(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}

/** The schedule's slots in (`afterMs`, `throughMs`], oldest first, at most `countMax`. */
export function slotsBetween(
  timing: ScheduleTiming,
  afterMs: number,
  throughMs: number,
  countMax: number,
): number[] {
  const slots: number[] = [];
  if (timing.everyMs) {
    const every = timing.everyMs;
    for (let slot = Math.floor(afterMs / every) * every + every; slot <= throughMs; slot += every) {
      if (slots.length >= countMax) break;
      slots.push(slot);
    }
    return slots;
  }
  assert(timing.cron, 'a schedule has a cron expression or an interval');
  const cron = CronExpressionParser.parse(timing.cron, {
    currentDate: new Date(afterMs),
    tz: timing.timezone ?? 'UTC',
  });
  while (slots.length < countMax) {
    const slot = cron.next().getTime();
    if (slot > throughMs) break;
    slots.push(slot);
  }
  return slots;
}

/** The schedule's first slot strictly after `afterMs`: its next run. */
export function nextSlotAfter(timing: ScheduleTiming, afterMs: number): number {
  if (timing.everyMs) return Math.floor(afterMs / timing.everyMs) * timing.everyMs + timing.everyMs;
  assert(timing.cron, 'a schedule has a cron expression or an interval');
  return CronExpressionParser.parse(timing.cron, {
    currentDate: new Date(afterMs),
    tz: timing.timezone ?? 'UTC',
  })
    .next()
    .getTime();
}

/** The schedule's latest slot at or before `nowMs`, or null if it has none. */
export function latestSlotAtOrBefore(timing: ScheduleTiming, nowMs: number): number | null {
  if (timing.everyMs) return Math.floor(nowMs / timing.everyMs) * timing.everyMs;
  assert(timing.cron, 'a schedule has a cron expression or an interval');
  let previous: number;
  try {
    previous = CronExpressionParser.parse(timing.cron, {
      currentDate: new Date(nowMs + 1),
      tz: timing.timezone ?? 'UTC',
    })
      .prev()
      .getTime();
  } catch {
    return null;
  }
  // Walk forward from there with next(), which is what sends slots: across a DST change
  // prev() can miss the slot that next() moves to the next valid local time.
  return slotsBetween(timing, previous - 1, nowMs, SLOT_WALK_MAX).at(-1) ?? null;
}

/** What one pass does for one schedule. */
export interface SlotPlan {
  /** Slots to send now, oldest first (at most SLOTS_PER_PASS_MAX). */
  due: number[];
  /** Slots after the last one sent that are now older than the grace window (not sent). */
  skipped: number;
}

/**
 * The slots one pass sends for a schedule whose last sent slot is `lastMs` (null if it
 * never sent one): those in (lastMs, nowMs] still within the grace window, oldest first.
 * A schedule that never sent starts from its latest slot, if still within grace, rather
 * than firing everything its grace window holds. `skippedAfterMs` excludes skipped slots
 * already reported.
 */
export function planSlots(
  timing: ScheduleTiming,
  lastMs: number | null,
  nowMs: number,
  skippedAfterMs: number | null = null,
): SlotPlan {
  const horizonMs = nowMs - (timing.graceMs ?? GRACE_MS_DEFAULT);
  if (lastMs === null) {
    const latest = latestSlotAtOrBefore(timing, nowMs);
    return { due: latest !== null && latest > horizonMs ? [latest] : [], skipped: 0 };
  }
  const due = slotsBetween(timing, Math.max(lastMs, horizonMs), nowMs, SLOTS_PER_PASS_MAX);
  const skipFromMs = Math.max(lastMs, skippedAfterMs ?? lastMs);
  const skipped =
    skipFromMs < horizonMs ? countSlots(timing, skipFromMs, horizonMs, SLOT_WALK_MAX) : 0;
  return { due, skipped };
}

function countSlots(timing: ScheduleTiming, afterMs: number, throughMs: number, max: number) {
  if (timing.everyMs) {
    const first = Math.floor(afterMs / timing.everyMs) + 1;
    const last = Math.floor(throughMs / timing.everyMs);
    return Math.min(Math.max(0, last - first + 1), max);
  }
  return slotsBetween(timing, afterMs, throughMs, max).length;
}
