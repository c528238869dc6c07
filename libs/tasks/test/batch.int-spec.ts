/**
 * Batch tasks (group commit): deliveries of one task that arrive together run as one
 * handler call in one transaction, with one inbox claim and one result write, and are
 * acknowledged after it commits. A batch that cannot commit is run again task by task,
 * so a poisoned task fails (and is dead-lettered) alone; a task delivered twice runs once.
 *
 * How: a batch handler inserts one row per payload into `test_batch_effects` (its n is
 * the primary key, so a payload repeating an n makes the whole batch's insert fail).
 * "Arriving together" is made certain rather than hoped for: the 300 tasks are queued
 * by a producer before the worker starts, so they wait for it however slowly they were
 * sent. Then the test reads the handler's calls, the rows, the stored results and the
 * dead-letter queue.
 */
import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { Task, TaskBatchContext } from '@clearline/tasks';
import {
  eventually,
  isolatedInfrastructure,
  startTaskApp,
  type IsolatedInfrastructure,
  type TaskApp,
} from '@clearline/testing';

const TASK = 'gateway.batch_effect';
const calls: number[] = [];

@Controller()
class BatchTasks {
  @Task(TASK, { batch: { sizeMax: 50, weight: (p) => (p as { weight?: number }).weight ?? 1 } })
  async apply(
    @Payload() payloads: { n: number }[],
    @Ctx() ctx: TaskBatchContext,
  ): Promise<{ applied: number }[]> {
    calls.push(payloads.length);
    expect(ctx.messages).toHaveLength(payloads.length);
    await ctx.manager.query(`INSERT INTO test_batch_effects (n) SELECT * FROM unnest($1::int[])`, [
      payloads.map((p) => p.n),
    ]);
    return payloads.map((p) => ({ applied: p.n }));
  }
}

describe('batch tasks (group commit)', () => {
  let infra: IsolatedInfrastructure;
  // Sends and reads results; consumes nothing (it has no task handlers).
  let producer: TaskApp;
  let worker: TaskApp;
  const startWorker = () =>
    startTaskApp({ infra, controllers: [BatchTasks], tasks: { prefetch: 500 } });

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    producer = await startTaskApp({ infra });
    await producer.dataSource.query(`CREATE TABLE test_batch_effects (n int PRIMARY KEY)`);
  });

  afterAll(async () => {
    await producer.close();
    await infra.destroy();
  });

  beforeEach(() => {
    calls.length = 0;
  });

  it('applies tasks queued together in few transactions of at most sizeMax, each with its own result', async () => {
    const handles = await Promise.all(
      Array.from({ length: 300 }, (_v, i) => producer.client.send(TASK, { n: i })),
    );
    const queued = await startWorker();
    try {
      const results = await Promise.all(handles.map((h) => h.result()));
      expect(results).toEqual(Array.from({ length: 300 }, (_v, i) => ({ applied: i })));
    } finally {
      await queued.close();
    }
    expect(calls.reduce((a, b) => a + b, 0)).toBe(300);
    expect(calls.length).toBeLessThan(300 / 5);
    expect(Math.max(...calls)).toBeLessThanOrEqual(50);
  });

  describe('with a running worker', () => {
    beforeAll(async () => {
      worker = await startWorker();
    });

    afterAll(async () => {
      await worker.close();
    });

    it('runs a failed batch again task by task: only the poisoned task fails', async () => {
      // n = 0 exists already: that task can never commit; its neighbours must.
      const handles = await Promise.all(
        [1_000, 1_001, 0, 1_002, 1_003].map((n) => worker.client.send(TASK, { n })),
      );
      const settled = await Promise.all(handles.map((h) => h.settled()));
      expect(settled.map((s) => s.state)).toEqual([
        'SUCCESS',
        'SUCCESS',
        'FAILURE',
        'SUCCESS',
        'SUCCESS',
      ]);
      const rows: { n: number }[] = await worker.dataSource.query(
        `SELECT n FROM test_batch_effects WHERE n >= 1000 ORDER BY n`,
      );
      expect(rows.map((r) => r.n)).toEqual([1_000, 1_001, 1_002, 1_003]);
      await eventually(
        async () =>
          (await worker.deadLetters.list({ queue: 'gateway' })).some(
            (d) => d.id === handles[2]?.id,
          ),
        { what: 'the poisoned task in the dead-letter queue' },
      );
    });

    it('runs a task delivered twice in one batch once', async () => {
      const id = randomUUID();
      const [first] = await Promise.all([
        worker.client.send(TASK, { n: 2_000 }, { id }),
        worker.client.send(TASK, { n: 2_000 }, { id }),
        worker.client.send(TASK, { n: 2_001 }),
      ]);
      await expect(first.result()).resolves.toEqual({ applied: 2_000 });
      await eventually(async () => {
        const rows: unknown[] = await worker.dataSource.query(
          `SELECT n FROM test_batch_effects WHERE n IN (2000, 2001)`,
        );
        return rows.length === 2;
      });
      expect(calls.reduce((a, b) => a + b, 0)).toBe(2);
    });

    it('caps a batch by the weight of its tasks', async () => {
      const handles = await Promise.all(
        Array.from({ length: 6 }, (_v, i) =>
          worker.client.send(TASK, { n: 3_000 + i, weight: 20 }),
        ),
      );
      await Promise.all(handles.map((h) => h.result()));
      expect(Math.max(...calls)).toBeLessThanOrEqual(2);
    });
  });
});
