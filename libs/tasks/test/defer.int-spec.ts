/**
 * `ctx.defer()` puts a task back for later without spending an attempt:
 * - the same message comes back (same id, same `retries`) after its countdown, through the
 *   delay levels, and runs again; a task with no retries at all may defer several times
 *   and still succeed (a retry instead would have dead-lettered it);
 * - nothing is recorded while it is deferred (no RETRY, no row at all), and
 *   `clearline_task_deferrals_total` counts each deferral;
 * - a transactional task's deferral rolls back its inbox claim, so the copy that comes
 *   back runs instead of being taken for a duplicate.
 *
 * How: an in-process worker on this file's vhost and database; each handler notes every
 * run (`ctx.retries` and the task id) and defers until it has run `deferrals + 1` times.
 * The "nothing recorded" check holds the last run at a gate, so it is read while the
 * task is provably between deferral and success, not in a wall-clock window.
 */
import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { register } from 'prom-client';
import { Task, TaskContext } from '@clearline/tasks';
import {
  eventually,
  Gate,
  isolatedInfrastructure,
  startTaskApp,
  type IsolatedInfrastructure,
  type TaskApp,
} from '@clearline/testing';

/** Every run of a task: the `retries` its context saw, by task id. */
const runs = new Map<string, number[]>();
const gate = new Gate();

function ran(ctx: TaskContext): number {
  const seen = [...(runs.get(ctx.taskId) ?? []), ctx.retries];
  runs.set(ctx.taskId, seen);
  return seen.length;
}

interface DeferPayload {
  deferrals: number;
  hold?: boolean;
}

@Controller()
class DeferTasks {
  /** No retries at all: only a deferral that spends none lets it run more than once. */
  @Task('gateway.defer_then_run', { retryCountMax: 0 })
  async deferThenRun(@Payload() payload: DeferPayload, @Ctx() ctx: TaskContext): Promise<string> {
    if (ran(ctx) <= payload.deferrals) ctx.defer({ countdownMs: 20 });
    if (payload.hold === true) await gate.opened;
    return `ran after ${payload.deferrals} deferrals`;
  }

  @Task('gateway.defer_in_transaction', { retryCountMax: 0, transactional: true })
  deferInTransaction(@Payload() payload: DeferPayload, @Ctx() ctx: TaskContext): string {
    if (ran(ctx) <= payload.deferrals) ctx.defer({ countdownMs: 20 });
    return `committed after ${payload.deferrals} deferrals`;
  }
}

async function deferralsCounted(task: string): Promise<number> {
  const metric = register.getSingleMetric('clearline_task_deferrals_total');
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.find((value) => value.labels['task'] === task)?.value ?? 0;
}

describe('ctx.defer', () => {
  let infra: IsolatedInfrastructure;
  let worker: TaskApp;

  const rows = async (id: string): Promise<number> => {
    const found: { count: number }[] = await worker.dataSource.query(
      `SELECT count(*)::int AS count FROM task_results WHERE id = $1`,
      [id],
    );
    return found[0]?.count ?? 0;
  };

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    worker = await startTaskApp({
      infra,
      controllers: [DeferTasks],
      tasks: { concurrency: 2, prefetch: 10 },
    });
  });

  afterAll(async () => {
    gate.open();
    await worker.close();
    await infra.destroy();
  });

  it('sends the same message again later, retries unchanged, and it runs to success', async () => {
    const before = await deferralsCounted('gateway.defer_then_run');
    const handle = await worker.client.send('gateway.defer_then_run', { deferrals: 3 });
    expect(await handle.result()).toBe('ran after 3 deferrals');
    // Four runs of one task id, each on its first attempt.
    expect(runs.get(handle.id)).toEqual([0, 0, 0, 0]);
    expect(await handle.state()).toMatchObject({ state: 'SUCCESS', retries: 0 });
    expect((await deferralsCounted('gateway.defer_then_run')) - before).toBe(3);
    expect(await worker.deadLetters.list({ queue: 'gateway' })).toEqual([]);
  });

  it('records nothing while the task is deferred', async () => {
    gate.close();
    const handle = await worker.client.send('gateway.defer_then_run', {
      deferrals: 1,
      hold: true,
    });
    // The second run waits at the gate: the deferral is over and no result is written yet.
    await eventually(() => runs.get(handle.id)?.length === 2, {
      what: 'the deferred task to run again',
    });
    expect(await rows(handle.id)).toBe(0);
    gate.open();
    expect(await handle.result()).toBe('ran after 1 deferrals');
    expect(runs.get(handle.id)).toEqual([0, 0]);
  });

  it('rolls back a transactional task, inbox claim included, so the copy runs', async () => {
    const handle = await worker.client.send('gateway.defer_in_transaction', { deferrals: 2 });
    expect(await handle.result()).toBe('committed after 2 deferrals');
    expect(runs.get(handle.id)).toEqual([0, 0, 0]);
    const inbox: { count: number }[] = await worker.dataSource.query(
      `SELECT count(*)::int AS count FROM task_inbox WHERE task_id = $1`,
      [handle.id],
    );
    expect(inbox[0]?.count).toBe(1);
  });
});
