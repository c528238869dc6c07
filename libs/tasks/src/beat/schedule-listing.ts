import type { DataSource, EntityManager } from 'typeorm';
import { nextSlotAfter } from './task-schedule';

/** A schedule as operators see it (`npm run tasks -- schedules`). */
export interface ScheduleInfo {
  /** The scheduler group: the service whose replicas lead it (or `tasks.retention`). */
  scheduler: string;
  name: string;
  task: string;
  /** Cron expression and its time zone, or null for an interval schedule. */
  cron: string | null;
  timezone: string | null;
  everyMs: number | null;
  graceMs: number;
  queue: string | null;
  /** The next slot after `now`. */
  nextRunAt: Date;
  /** The last slot sent, and when it was sent; null if none yet. */
  lastSlot: Date | null;
  lastSentAt: Date | null;
  /** The process (`host/pid`) that registered the schedule when it last took the lead. */
  leader: string | null;
  registeredAt: Date;
}

/** The most schedules one listing returns. */
export const SCHEDULE_LIST_MAX = 1_000;

interface ScheduleRow {
  scheduler: string;
  name: string;
  task: string;
  cron: string | null;
  timezone: string | null;
  every_ms: string | null;
  grace_ms: string;
  queue: string | null;
  leader: string | null;
  registered_at: Date;
  last_slot: Date | null;
  last_sent_at: Date | null;
}

/**
 * Every periodic task of the deployment (all services share the database): what it
 * sends, when, its next run and the last slot sent. Schedules appear once a scheduler of
 * their service has led; a schedule removed from code disappears when one leads again.
 * At most SCHEDULE_LIST_MAX, ordered by scheduler and name.
 */
export async function listSchedules(
  db: Pick<DataSource | EntityManager, 'query'>,
  options: { scheduler?: string; now?: Date } = {},
): Promise<ScheduleInfo[]> {
  const rows: ScheduleRow[] = await db.query(
    `SELECT scheduler, name, task, cron, timezone, every_ms::text, grace_ms::text, queue, leader,
            registered_at, last_slot, last_sent_at
       FROM task_schedules WHERE $1::text IS NULL OR scheduler = $1
      ORDER BY scheduler, name LIMIT $2`,
    [options.scheduler ?? null, SCHEDULE_LIST_MAX],
  );
  const nowMs = (options.now ?? new Date()).getTime();
  return rows.map((row) => {
    const everyMs = row.every_ms === null ? null : Number(row.every_ms);
    return {
      scheduler: row.scheduler,
      name: row.name,
      task: row.task,
      cron: row.cron,
      timezone: row.timezone,
      everyMs,
      graceMs: Number(row.grace_ms),
      queue: row.queue,
      nextRunAt: new Date(
        nextSlotAfter({ cron: row.cron, timezone: row.timezone, everyMs }, nowMs),
      ),
      lastSlot: row.last_slot,
      lastSentAt: row.last_sent_at,
      leader: row.leader,
      registeredAt: row.registered_at,
    };
  });
}
