/**
 * Time limits: at the soft limit a handler's `ctx.signal` aborts (reason
 * `SoftTimeLimitExceeded`) and it may clean up and return; at the hard limit the task
 * ends FAILURE `TimeLimitExceeded`, its transaction is rolled back at the server (a
 * statement it is stuck in is ended too), its handler slot is freed so the worker goes
 * on serving, and its message is settled by its retry policy. Limits come from the
 * task's options, from the call (`timeLimitHardS`, the `timelimit` header, which wins),
 * or from the module's default hard limit.
 *
 * How: an in-process worker with concurrency 1 and a 1.5 s default hard limit. A
 * transactional task inserts a row and then hangs in `SELECT pg_sleep(60)`; the task sent
 * after it can only run once the slot is free. `pg_stat_activity` shows whether the hung
 * statement is still running at the server; after FAILURE the handler is let try one
 * more insert, which must not commit. A task that retries on `TimeLimitExceeded` hangs on
 * its first attempt only.
 */
import { Controller } from '@nestjs/common';
import { Ctx } from '@nestjs/microservices';
import { Task, TaskContext, TimeLimitExceeded, type TaskResultRecord } from '@clearline/tasks';
import {
  eventually,
  holdsFor,
  isolatedInfrastructure,
  startTaskApp,
  type IsolatedInfrastructure,
  type TaskApp,
  Gate,
} from '@clearline/testing';

const HARD_MS_DEFAULT = 1_500;
const seen = { lateWrite: new Map<string, string>() };
const never = new Promise<never>(() => undefined);

/** Where the hung handler waits before its late write, until the test opens it. */
const late = new Gate();

@Controller()
class LimitedTasks {
  @Task('gateway.quick')
  quick(): string {
    return 'quick';
  }

  /** Hangs in the database, inside its transaction, ignoring its signal. */
  @Task('gateway.hang_in_sql', { transactional: true })
  async hangInSql(@Ctx() ctx: TaskContext): Promise<string> {
    await ctx.manager.query(`INSERT INTO test_writes (task_id, step) VALUES ($1, 'first')`, [
      ctx.taskId,
    ]);
    await ctx.manager.query(`SELECT pg_sleep(60) /* hung ${ctx.taskId} */`).catch(() => undefined);
    await late.opened;
    try {
      await ctx.manager.query(`INSERT INTO test_writes (task_id, step) VALUES ($1, 'late')`, [
        ctx.taskId,
      ]);
      seen.lateWrite.set(ctx.taskId, 'written');
    } catch (error) {
      seen.lateWrite.set(ctx.taskId, `refused: ${(error as Error).name}`);
    }
    return 'never stored';
  }

  /** Never returns and never looks at its signal. */
  @Task('gateway.hang', { timeLimitHardMs: 60_000 })
  hang(): Promise<never> {
    return never;
  }

  /** Cleans up when the soft limit fires and returns what it saw. */
  @Task('gateway.soft_limited', { timeLimitSoftMs: 300, timeLimitHardMs: 30_000 })
  async softLimited(@Ctx() ctx: TaskContext): Promise<string> {
    await new Promise<void>((resolve) =>
      ctx.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    return `cleaned up after ${(ctx.signal.reason as Error).name}`;
  }

  /** Hangs on its first attempt only; retried because its retry policy names the limit. */
  @Task('gateway.hang_once', {
    timeLimitHardMs: 500,
    retryOn: [TimeLimitExceeded],
    retryCountMax: 1,
    retryBackoffMs: 10,
  })
  async hangOnce(@Ctx() ctx: TaskContext): Promise<string> {
    if (ctx.retries === 0) await never;
    return `done on retry ${ctx.retries}`;
  }
}

describe('time limits', () => {
  let infra: IsolatedInfrastructure;
  let producer: TaskApp;
  let worker: TaskApp;

  const settled = (id: string): Promise<TaskResultRecord> =>
    producer.client.handle(id).settled({ timeoutMs: 30_000 });
  const count = async (sql: string, parameters: unknown[]): Promise<number> => {
    const rows: { count: number }[] = await producer.dataSource.query(sql, parameters);
    return rows[0]?.count ?? 0;
  };

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    producer = await startTaskApp({ infra });
    await producer.dataSource.query(`CREATE TABLE test_writes (task_id text, step text)`);
    worker = await startTaskApp({
      infra,
      controllers: [LimitedTasks],
      tasks: { concurrency: 1, timeLimitHardMsDefault: HARD_MS_DEFAULT },
    });
  });

  afterAll(async () => {
    late.open();
    await worker.close();
    await producer.close();
    await infra.destroy();
  });

  it('fails a hung transactional task at the hard limit, rolls it back and frees its slot', async () => {
    late.close();
    const hung = await producer.client.send('gateway.hang_in_sql', {});
    const next = await producer.client.send('gateway.quick', {});

    // Concurrency 1: the next task runs only once the hung one gave its slot back.
    expect(await next.result()).toBe('quick');
    // It declares no limit: the module's default hard limit applies.
    expect(await settled(hung.id)).toMatchObject({
      state: 'FAILURE',
      errorType: 'TimeLimitExceeded',
      errorMessage: `hard time limit (${HARD_MS_DEFAULT} ms) exceeded`,
    });
    // The hung statement was ended at the server, not left to run for a minute.
    await eventually(
      async () =>
        (await count(
          `SELECT count(*)::int AS count FROM pg_stat_activity
            WHERE query LIKE $1 AND state = 'active' AND pid <> pg_backend_pid()`,
          [`%hung ${hung.id}%`],
        )) === 0,
      { what: 'the hung statement to be gone from the server' },
    );
    late.open();
    await eventually(() => seen.lateWrite.get(hung.id), { what: 'the late write attempt' });
    expect(seen.lateWrite.get(hung.id)).toMatch(/^refused/);
    await holdsFor(
      async () =>
        (await count(`SELECT count(*)::int AS count FROM test_writes WHERE task_id = $1`, [
          hung.id,
        ])) === 0,
      { what: 'no write of the hung task committed' },
    );
  });

  it("takes the call's hard limit (timelimit header) over the task's", async () => {
    const handle = await producer.client.send('gateway.hang', {}, { timeLimitHardS: 0.5 });
    expect(await settled(handle.id)).toMatchObject({
      state: 'FAILURE',
      errorType: 'TimeLimitExceeded',
      errorMessage: 'hard time limit (500 ms) exceeded',
    });
    expect(await (await producer.client.send('gateway.quick', {})).result()).toBe('quick');
  });

  it('fires the signal at the soft limit and lets the handler finish', async () => {
    const handle = await producer.client.send('gateway.soft_limited', {});
    expect(await handle.result()).toBe('cleaned up after SoftTimeLimitExceeded');
  });

  it('retries a task that hit its hard limit when its retry policy names TimeLimitExceeded', async () => {
    const handle = await producer.client.send('gateway.hang_once', {});
    expect(await handle.result()).toBe('done on retry 1');
    expect(await handle.state()).toMatchObject({ state: 'SUCCESS', retries: 1 });
  });
});
