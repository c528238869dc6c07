/**
 * Periodic tasks (beat) on real RabbitMQ and PostgreSQL: interval and cron schedules send
 * each slot once, through the outbox, with its deterministic task id; a slot someone else
 * already claimed is never sent again; a slot missed while no scheduler led is sent late
 * if still within the schedule's grace window, and older ones are skipped; operators list
 * the schedules; a bad schedule stops the service from starting, naming it.
 *
 * How: a service (`beat-test`) in this process runs the scheduler with short intervals and
 * consumes the tasks it sends with a transactional handler that records one effect row per
 * task. The test reads the slot rows, the outbox rows (one per send) and the effects. To
 * make "no scheduler led" real, the test itself holds the group's advisory lock for a
 * while, as a leader that does nothing would.
 */
import { Controller } from '@nestjs/common';
import { Ctx } from '@nestjs/microservices';
import { Client } from 'pg';
import {
  eventually,
  holdsFor,
  isolatedInfrastructure,
  startTaskApp,
  type IsolatedInfrastructure,
  type TaskApp,
} from '@clearline/testing';
import { listSchedules, Task, TaskContext, type TaskSchedule } from '@clearline/tasks';
import { startFixture } from './fixtures/fixture-process';

const SERVICE = 'beat-test';
const EVERY_MS = 300;
const GRACE_MS = 30_000;

@Controller()
class BeatTasks {
  @Task('gateway.beat_tick', { transactional: true })
  async tick(@Ctx() ctx: TaskContext): Promise<void> {
    await ctx.manager.query(`INSERT INTO test_beat_effects (task_id) VALUES ($1)`, [ctx.taskId]);
  }
}

interface SlotRow {
  schedule: string;
  slot: Date;
  task_id: string;
}

describe('beat (periodic tasks)', () => {
  let infra: IsolatedInfrastructure;
  let app: TaskApp;
  let holder: Client;

  const schedules: TaskSchedule[] = [
    { name: 'every', task: 'gateway.beat_tick', everyMs: EVERY_MS, graceMs: GRACE_MS },
    // Six fields: every second, in a zone (whole seconds fall alike in every zone).
    { name: 'cron', task: 'gateway.beat_tick', cron: '* * * * * *', timezone: 'Asia/Kolkata' },
    { name: 'late', task: 'gateway.beat_tick', everyMs: EVERY_MS, graceMs: GRACE_MS },
  ];
  const slots = async (schedule: string): Promise<SlotRow[]> =>
    app.dataSource.query(
      `SELECT schedule, slot, task_id FROM task_schedule_slots
        WHERE scheduler = $1 AND schedule = $2 ORDER BY slot`,
      [SERVICE, schedule],
    );
  const sends = async (taskIds: string[]): Promise<Map<string, number>> => {
    const rows: { task_id: string; n: number }[] = await app.dataSource.query(
      `SELECT task_id, count(*)::int AS n FROM task_outbox WHERE task_id = ANY($1) GROUP BY task_id`,
      [taskIds],
    );
    return new Map(rows.map((r) => [r.task_id, r.n]));
  };
  const effects = async (taskIds: string[]): Promise<Map<string, number>> => {
    const rows: { task_id: string; n: number }[] = await app.dataSource.query(
      `SELECT task_id, count(*)::int AS n FROM test_beat_effects WHERE task_id = ANY($1) GROUP BY task_id`,
      [taskIds],
    );
    return new Map(rows.map((r) => [r.task_id, r.n]));
  };
  /** Each slot's task sent once and applied once. */
  const expectOncePerSlot = async (rows: SlotRow[]): Promise<void> => {
    const ids = rows.map((r) => r.task_id);
    await eventually(async () => (await effects(ids)).size === ids.length, {
      what: 'every slot task applied',
    });
    expect([...(await sends(ids)).values()]).toEqual(ids.map(() => 1));
    expect([...(await effects(ids)).values()]).toEqual(ids.map(() => 1));
  };

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    holder = new Client({ connectionString: infra.databaseUrl });
    await holder.connect();
    await holder.query(`CREATE TABLE test_beat_effects (task_id text NOT NULL)`);
    // No scheduler may lead `beat-test` until the grace test lets go.
    await holder.query(`SELECT pg_advisory_lock($1, hashtext($2))`, [
      0x0bea7,
      `clearline.beat:${SERVICE}`,
    ]);
    app = await startTaskApp({
      infra,
      service: SERVICE,
      controllers: [BeatTasks],
      tasks: { schedules, beat: { leaderPollMs: 100, tickMsMax: 100 }, retention: false },
    });
  });

  afterAll(async () => {
    await app.close();
    await holder.end();
    await infra.destroy();
  });

  it('sends a slot missed while no scheduler led if within grace, and skips older ones', async () => {
    // The schedule last sent a slot ten minutes ago; nobody has led since.
    const seededMs = Math.floor((Date.now() - 10 * 60_000) / EVERY_MS) * EVERY_MS;
    await app.dataSource.query(
      `INSERT INTO task_schedules (scheduler, name, task, every_ms, grace_ms, last_slot)
       VALUES ($1, 'late', 'gateway.beat_tick', $2, $3, $4)`,
      [SERVICE, EVERY_MS, GRACE_MS, new Date(seededMs)],
    );
    await holdsFor(async () => (await slots('late')).length === 0, {
      durationMs: 3 * EVERY_MS,
      what: 'nothing sent while the lock is held by someone else',
    });
    const releasedMs = Date.now();
    await holder.query(`SELECT pg_advisory_unlock_all()`);

    await eventually(async () => (await slots('late')).length >= 5, { what: 'late slots sent' });
    const sent = (await slots('late')).map((r) => r.slot.getTime());
    // Nothing older than the grace window as of the release (the leader's clock is later still).
    expect(Math.min(...sent)).toBeGreaterThan(releasedMs - GRACE_MS - EVERY_MS);
    // ...but the slots that fell due while nobody led, within grace, were sent on taking the lead.
    expect(sent.filter((slot) => slot < releasedMs).length).toBeGreaterThan(0);
    expect(sent.every((slot, i) => i === 0 || slot - (sent[i - 1] ?? 0) === EVERY_MS)).toBe(true);
    await expectOncePerSlot(await slots('late'));
  });

  it('sends every interval slot once, in order, with its deterministic task id', async () => {
    await eventually(async () => (await slots('every')).length >= 6, { what: 'six slots' });
    const rows = await slots('every');
    const times = rows.map((r) => r.slot.getTime());
    expect(times.every((t) => t % EVERY_MS === 0)).toBe(true);
    expect(times.every((t, i) => i === 0 || t - (times[i - 1] ?? 0) === EVERY_MS)).toBe(true);
    expect(rows[0]?.task_id).toBe(`beat:${SERVICE}:every:${rows[0]?.slot.toISOString()}`);
    await expectOncePerSlot(rows);
  });

  it('sends cron slots (with seconds, in a time zone) once each', async () => {
    await eventually(async () => (await slots('cron')).length >= 3, { what: 'three cron slots' });
    const rows = await slots('cron');
    const times = rows.map((r) => r.slot.getTime());
    expect(
      times.every((t, i) => t % 1_000 === 0 && (i === 0 || t - (times[i - 1] ?? 0) === 1_000)),
    ).toBe(true);
    await expectOncePerSlot(rows);
  });

  it('never sends a slot another scheduler already claimed', async () => {
    // A slot a few seconds ahead, claimed by "another leader" before it falls due.
    const claimedMs = (Math.floor(Date.now() / EVERY_MS) + 15) * EVERY_MS;
    const taskId = `beat:${SERVICE}:every:${new Date(claimedMs).toISOString()}`;
    await app.dataSource.query(
      `INSERT INTO task_schedule_slots (scheduler, schedule, slot, task_id, claimed_by)
       VALUES ($1, 'every', $2, $3, 'another-leader')`,
      [SERVICE, new Date(claimedMs), taskId],
    );
    await eventually(
      async () => (await slots('every')).some((r) => r.slot.getTime() >= claimedMs + 2 * EVERY_MS),
      { what: 'the schedule past the claimed slot' },
    );
    expect((await sends([taskId])).size).toBe(0);
    const after = (await slots('every')).filter((r) => r.slot.getTime() > claimedMs);
    await expectOncePerSlot(after);
    expect((await effects([taskId])).size).toBe(0);
  });

  it('lists the schedules for operators: next run, last slot sent, leader', async () => {
    const listed = await listSchedules(app.dataSource, { scheduler: SERVICE });
    expect(listed.map((s) => s.name)).toEqual(['cron', 'every', 'late']);
    const now = Date.now();
    for (const schedule of listed) {
      expect(schedule.task).toBe('gateway.beat_tick');
      expect(schedule.lastSlot).not.toBeNull();
      expect(schedule.lastSentAt).not.toBeNull();
      expect(schedule.nextRunAt.getTime()).toBeGreaterThan(now - 1_000);
      expect(schedule.leader).toMatch(new RegExp(`/${process.pid}$`));
    }
    expect(listed.find((s) => s.name === 'cron')).toMatchObject({
      cron: '* * * * * *',
      timezone: 'Asia/Kolkata',
      everyMs: null,
    });
    expect(listed.find((s) => s.name === 'every')).toMatchObject({ everyMs: EVERY_MS, cron: null });
  });

  it('refuses to start a service with a bad schedule, naming it', async () => {
    for (const [variables, problem] of [
      [{ CRON: '0 25 * * *' }, /schedule "tick": bad cron/],
      [{ CRON: '0 1 * * *', TIMEZONE: 'Moon/Base' }, /schedule "tick": unknown time zone/],
    ] as const) {
      const broken = startFixture('beat-scheduler', { ...infra.env, ...variables });
      await expect(broken.exit()).resolves.toEqual({ code: 1, signal: null });
      expect(broken.output()).toMatch(problem);
    }
  });
});
