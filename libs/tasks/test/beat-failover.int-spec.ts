/**
 * Beat failover: two scheduler replicas of one service, the leader SIGKILLed. The other
 * takes the lead, the schedule's slots go on with no hole and none sent twice, and the
 * slots that fell due while nobody led (within the grace window) are sent on taking over.
 *
 * How: two real processes (fixtures/beat-scheduler.ts) schedule `tick` every 250 ms; this
 * process consumes the tasks with a transactional handler that records one effect row
 * per task. The leader is the process named in `task_schedules.leader`. The standby is
 * paused (SIGSTOP) while the leader is SIGKILLed, and resumed (SIGCONT) only after the
 * leader's lock is gone and at least two slots have fallen due, so the gap with no leader
 * is certain, however fast the standby would have polled. Counted per slot: one slot row,
 * one outbox row (one send) and one effect.
 */
import { Controller } from '@nestjs/common';
import { Ctx } from '@nestjs/microservices';
import {
  eventually,
  isolatedInfrastructure,
  startTaskApp,
  type IsolatedInfrastructure,
  type TaskApp,
} from '@clearline/testing';
import { Task, TaskContext } from '@clearline/tasks';
import { startFixture, type FixtureProcess } from './fixtures/fixture-process';

const SCHEDULER = 'beat-failover';
const EVERY_MS = 250;

@Controller()
class TickTasks {
  @Task('gateway.beat_tick', { transactional: true })
  async tick(@Ctx() ctx: TaskContext): Promise<void> {
    await ctx.manager.query(`INSERT INTO test_beat_effects (task_id) VALUES ($1)`, [ctx.taskId]);
  }
}

interface SlotRow {
  slot: Date;
  task_id: string;
  claimed_by: string;
}

describe('beat failover (leader SIGKILLed)', () => {
  let infra: IsolatedInfrastructure;
  let consumer: TaskApp;
  const children: FixtureProcess[] = [];

  const slots = async (): Promise<SlotRow[]> =>
    consumer.dataSource.query(
      `SELECT slot, task_id, claimed_by FROM task_schedule_slots
        WHERE scheduler = $1 AND schedule = 'tick' ORDER BY slot`,
      [SCHEDULER],
    );
  const leader = async (): Promise<{ leader: string; registered_at: Date } | undefined> => {
    const rows: { leader: string; registered_at: Date }[] = await consumer.dataSource.query(
      `SELECT leader, registered_at FROM task_schedules WHERE scheduler = $1 AND name = 'tick'`,
      [SCHEDULER],
    );
    return rows[0];
  };
  const pidOf = (identity: string): number => Number(identity.split('/').at(-1));
  const advisoryLocksHeld = async (): Promise<number> => {
    const rows: { n: number }[] = await consumer.dataSource.query(
      `SELECT count(*)::int AS n FROM pg_locks
        WHERE locktype = 'advisory' AND granted
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    return rows[0]?.n ?? 0;
  };

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    consumer = await startTaskApp({
      infra,
      service: 'beat-consumer',
      controllers: [TickTasks],
      tasks: { retention: false },
    });
    await consumer.dataSource.query(`CREATE TABLE test_beat_effects (task_id text NOT NULL)`);
  });

  afterAll(async () => {
    await Promise.all(children.map((child) => child.stop()));
    await consumer.close();
    await infra.destroy();
  });

  it('hands the lead to the standby, which sends the missed slots; no slot is sent twice', async () => {
    const env = { ...infra.env, EVERY_MS: String(EVERY_MS), GRACE_MS: '30000' };
    children.push(startFixture('beat-scheduler', env), startFixture('beat-scheduler', env));
    const pids = await Promise.all(
      children.map(async (child) => Number((await child.line(/^ready (\d+)$/))[1])),
    );
    const first = await eventually(leader, { what: 'a leader' });
    const leaderPid = pidOf(first.leader);
    expect(pids).toContain(leaderPid);
    const oldLeader = children[pids.indexOf(leaderPid)];
    const standby = children[1 - pids.indexOf(leaderPid)];
    if (!oldLeader || !standby) throw new Error('two schedulers expected');
    await eventually(async () => (await slots()).length >= 4, { what: 'slots from the leader' });

    standby.child.kill('SIGSTOP');
    oldLeader.child.kill('SIGKILL');
    await expect(oldLeader.exit()).resolves.toEqual({ code: null, signal: 'SIGKILL' });
    // PostgreSQL ends the dead leader's session and its lock with it.
    await eventually(async () => (await advisoryLocksHeld()) === 0, {
      what: "the dead leader's lock released",
    });
    const lastOfOld = Math.max(...(await slots()).map((r) => r.slot.getTime()));
    await eventually(() => Date.now() > lastOfOld + 2 * EVERY_MS + 50, {
      what: 'two slots falling due with no leader',
    });
    standby.child.kill('SIGCONT');

    const taken = await eventually(
      async () => {
        const now = await leader();
        return now && pidOf(now.leader) !== leaderPid ? now : undefined;
      },
      { what: 'the standby to take the lead' },
    );
    expect(pidOf(taken.leader)).not.toBe(leaderPid);
    await eventually(
      async () => (await slots()).filter((r) => r.slot.getTime() > lastOfOld).length >= 6,
      { what: 'slots from the new leader' },
    );
    await standby.stop();

    const rows = await slots();
    const times = rows.map((r) => r.slot.getTime());
    // One slot after another across the failover: no hole, no repeat.
    expect(times.every((t, i) => i === 0 || t - (times[i - 1] ?? 0) === EVERY_MS)).toBe(true);
    // Slots due while nobody led were sent by the new leader when it took over.
    const caughtUp = rows.filter(
      (r) =>
        r.slot.getTime() > lastOfOld &&
        r.slot.getTime() < taken.registered_at.getTime() &&
        pidOf(r.claimed_by) === pidOf(taken.leader),
    );
    expect(caughtUp.length).toBeGreaterThanOrEqual(2);
    expect(new Set(rows.map((r) => pidOf(r.claimed_by)))).toEqual(new Set(pids));

    const ids = rows.map((r) => r.task_id);
    const sends: { task_id: string; n: number }[] = await consumer.dataSource.query(
      `SELECT task_id, count(*)::int AS n FROM task_outbox WHERE task = 'gateway.beat_tick'
        GROUP BY task_id ORDER BY task_id`,
    );
    expect(sends.map((s) => s.n)).toEqual(ids.map(() => 1));
    expect(new Set(sends.map((s) => s.task_id))).toEqual(new Set(ids));
    await eventually(
      async () => {
        const applied: { n: number; distinct: number }[] = await consumer.dataSource.query(
          `SELECT count(*)::int AS n, count(DISTINCT task_id)::int AS distinct FROM test_beat_effects`,
        );
        return applied[0]?.n === ids.length && applied[0].distinct === ids.length;
      },
      { what: 'each slot applied exactly once' },
    );
  });
});
