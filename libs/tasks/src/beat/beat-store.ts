import type { DataSource } from 'typeorm';
import { OutboxStatement, type OutboxTask } from '../outbox/task-outbox';
import { boundedQuery } from './bounded-query';
import { GRACE_MS_DEFAULT, type TaskSchedule } from './task-schedule';

/** The longest a scheduler statement may run. */
const STATEMENT_TIMEOUT_MS = 10_000;

/** A schedule as its group's leader registers it (a task schedule or an in-process job). */
export interface RegisteredSchedule {
  name: string;
  task: string;
  cron: string | null;
  timezone: string | null;
  everyMs: number | null;
  graceMs: number;
  queue: string | null;
}

/** A slot to claim; `task` is set when the slot sends a task (not for in-process jobs). */
export interface SlotClaim {
  schedule: string;
  slotMs: number;
  task: (OutboxTask & { options: { id: string } }) | null;
}

export function registeredFrom(schedule: TaskSchedule): RegisteredSchedule {
  return {
    name: schedule.name,
    task: schedule.task,
    cron: schedule.cron ?? null,
    timezone: schedule.cron !== undefined ? (schedule.timezone ?? 'UTC') : null,
    everyMs: schedule.everyMs ?? null,
    graceMs: schedule.graceMs ?? GRACE_MS_DEFAULT,
    queue: schedule.queue ?? null,
  };
}

/** The task id of a slot: deterministic, so a consumer's inbox would dedupe a second send too. */
export function slotTaskId(scheduler: string, schedule: string, slotMs: number): string {
  return `beat:${scheduler}:${schedule}:${new Date(slotMs).toISOString()}`;
}

/** All SQL of the scheduler: its tables are `task_schedules` and `task_schedule_slots`. */
export class BeatStore {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Records the group's schedules as the new leader sees them (operators list them from
   * here) and forgets those no longer in code; returns each schedule's last sent slot.
   */
  async register(
    scheduler: string,
    schedules: readonly RegisteredSchedule[],
    leader: string,
  ): Promise<Map<string, number>> {
    const column = <K extends keyof RegisteredSchedule>(key: K): RegisteredSchedule[K][] =>
      schedules.map((s) => s[key]);
    const rows = await boundedQuery<{ name: string; last_slot: Date | null }[]>(
      this.dataSource,
      STATEMENT_TIMEOUT_MS,
      `WITH gone AS (
         DELETE FROM task_schedules WHERE scheduler = $1 AND NOT (name = ANY($2::text[]))
       ), upserted AS (
         INSERT INTO task_schedules AS t
           (scheduler, name, task, cron, timezone, every_ms, grace_ms, queue, leader, registered_at)
         SELECT $1, s.* , $9, now()
           FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[],
                       $8::text[]) AS s(name, task, cron, timezone, every_ms, grace_ms, queue)
         ON CONFLICT (scheduler, name) DO UPDATE SET
           task = excluded.task, cron = excluded.cron, timezone = excluded.timezone,
           every_ms = excluded.every_ms, grace_ms = excluded.grace_ms, queue = excluded.queue,
           leader = excluded.leader, registered_at = excluded.registered_at
         RETURNING t.name, t.last_slot
       )
       SELECT name, last_slot FROM upserted`,
      [
        scheduler,
        column('name'),
        column('task'),
        column('cron'),
        column('timezone'),
        column('everyMs'),
        column('graceMs'),
        column('queue'),
        leader,
      ],
    );
    return new Map(
      rows.flatMap((row) => (row.last_slot ? [[row.name, row.last_slot.getTime()] as const] : [])),
    );
  }

  /**
   * Claims slots and, in the same statement (one transaction), puts the tasks of the
   * slots it won into the outbox and advances each schedule's last slot. A slot someone
   * already claimed is left alone: it is sent at most once whoever leads. Returns the
   * claimed slots.
   */
  async claim(
    scheduler: string,
    leader: string,
    claims: readonly SlotClaim[],
  ): Promise<{ schedule: string; slotMs: number }[]> {
    if (claims.length === 0) return [];
    const withTask = claims.flatMap((c) => (c.task ? [c.task] : []));
    const outbox = OutboxStatement.of(withTask, {
      firstParameter: 6,
      keys: withTask.map((t) => t.options.id),
    });
    const rows = await boundedQuery<{ schedule: string; slot: Date }[]>(
      this.dataSource,
      STATEMENT_TIMEOUT_MS,
      `WITH claimed AS (
         INSERT INTO task_schedule_slots (scheduler, schedule, slot, task_id, claimed_by)
         SELECT $1, c.schedule, c.slot, c.task_id, $2
           FROM unnest($3::text[], $4::timestamptz[], $5::text[]) AS c(schedule, slot, task_id)
         ON CONFLICT (scheduler, schedule, slot) DO NOTHING
         RETURNING schedule, slot, task_id
       ), queued AS (
         ${outbox.insert(`${outbox.rows('o')} JOIN claimed ON claimed.task_id = o.key`)}
       ), advanced AS (
         UPDATE task_schedules AS t SET last_slot = greatest(t.last_slot, c.slot), last_sent_at = now()
           FROM (SELECT schedule, max(slot) AS slot FROM claimed GROUP BY schedule) AS c
          WHERE t.scheduler = $1 AND t.name = c.schedule
         RETURNING 1
       )
       SELECT schedule, slot, ${outbox.notifyAfter('queued')} AS woken,
              (SELECT count(*) FROM advanced) AS advanced
         FROM claimed`,
      [
        scheduler,
        leader,
        claims.map((c) => c.schedule),
        claims.map((c) => new Date(c.slotMs).toISOString()),
        claims.map((c) => c.task?.options.id ?? null),
        ...outbox.parameters,
      ],
    );
    return rows.map((row) => ({ schedule: row.schedule, slotMs: row.slot.getTime() }));
  }
}
