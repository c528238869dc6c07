/**
 * Control of tasks from inside and outside the handler:
 * - `ctx.retry()` (Celery's `self.retry`) sends the task again with retries + 1 through
 *   the normal retry path, and dead-letters it `retries-exhausted` once they are spent;
 * - rate limits hold tasks back without holding a handler slot: per worker (each worker
 *   has its own bucket) or global (all workers share one schedule in PostgreSQL);
 * - `ignoreResult` (per task or per call) leaves no `task_results` row for a success, yet
 *   the caller waiting on the handle gets the answer; a failure is still stored;
 * - `inspect` asks every worker over the control exchange and collects one reply each.
 *
 * How: in-process workers on this file's vhost and database. Rate limits are asserted by
 * counts, never by wall-clock windows: at '1/h' exactly one task may start however long
 * the test watches (one per worker, or one in all for a global limit), and at N/s the
 * last of k tasks cannot have started before (k - 1) / N s after they were sent — a slow
 * machine only makes that truer. A worker with concurrency 1 whose rate-limited tasks
 * wait still runs an unlimited task at once. Rows are counted in `task_results`.
 */
import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { connect } from 'amqplib';
import { Task, TaskContext, TaskControl, type TaskResultRecord } from '@clearline/tasks';
import {
  eventually,
  holdsFor,
  isolatedInfrastructure,
  startTaskApp,
  type IsolatedInfrastructure,
  type TaskApp,
  Gate,
} from '@clearline/testing';

const FAST_RATE_PER_S = 20;
const starts = new Map<string, number[]>();
const attempts = new Map<string, number[]>();

function started(task: string): void {
  starts.set(task, [...(starts.get(task) ?? []), performance.now()]);
}

/** Where `gateway.wait` waits until the test opens it. */
const gate = new Gate();

@Controller()
class ControlTasks {
  @Task('gateway.echo')
  echo(@Payload() payload: { value?: string; fail?: boolean }): string {
    if (payload.fail === true) throw new Error('asked to fail');
    return payload.value ?? 'echo';
  }

  @Task('gateway.lookup', { ignoreResult: true })
  lookup(@Payload() payload: { value: string; fail?: boolean }): { found: string } {
    if (payload.fail === true) throw new Error('lookup failed');
    return { found: payload.value };
  }

  @Task('gateway.wait')
  async wait(): Promise<string> {
    await gate.opened;
    return 'waited';
  }

  @Task('gateway.ask_retry', { retryCountMax: 2 })
  askRetry(@Payload() payload: { succeedOn: number }, @Ctx() ctx: TaskContext): string {
    attempts.set(ctx.taskId, [...(attempts.get(ctx.taskId) ?? []), ctx.retries]);
    if (ctx.retries !== payload.succeedOn) {
      ctx.retry({ countdownMs: 20, error: new Error(`not yet (${ctx.retries})`) });
    }
    return `succeeded on retry ${ctx.retries}`;
  }

  @Task('gateway.hourly', { rateLimit: '1/h' })
  hourly(): string {
    started('gateway.hourly');
    return 'hourly';
  }

  @Task('gateway.fast', { rateLimit: `${FAST_RATE_PER_S}/s` })
  fast(): string {
    started('gateway.fast');
    return 'fast';
  }

  @Task('gateway.hourly_global', { rateLimit: '1/h', rateLimitScope: 'global' })
  hourlyGlobal(): string {
    started('gateway.hourly_global');
    return 'hourly';
  }

  @Task('gateway.fast_global', { rateLimit: `${FAST_RATE_PER_S}/s`, rateLimitScope: 'global' })
  fastGlobal(): string {
    started('gateway.fast_global');
    return 'fast';
  }
}

describe('task control', () => {
  let infra: IsolatedInfrastructure;
  let producer: TaskApp;

  const rows = async (id: string): Promise<number> => {
    const found: { count: number }[] = await producer.dataSource.query(
      `SELECT count(*)::int AS count FROM task_results WHERE id = $1`,
      [id],
    );
    return found[0]?.count ?? 0;
  };
  const settled = (id: string): Promise<TaskResultRecord> =>
    producer.client.handle(id).settled({ timeoutMs: 30_000 });
  const startedCount = (task: string): number => starts.get(task)?.length ?? 0;

  /** Two workers on the same queue, prefetch 1: each holds at most one waiting task. */
  async function twoWorkers(): Promise<[TaskApp, TaskApp]> {
    const tasks = { prefetch: 1, concurrency: 1 };
    return Promise.all([
      startTaskApp({ infra, service: 'worker-a', controllers: [ControlTasks], tasks }),
      startTaskApp({ infra, service: 'worker-b', controllers: [ControlTasks], tasks }),
    ]);
  }

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    producer = await startTaskApp({ infra });
  });

  afterAll(async () => {
    gate.open();
    await producer.close();
    await infra.destroy();
  });

  describe('with one worker', () => {
    let worker: TaskApp;

    beforeAll(async () => {
      worker = await startTaskApp({
        infra,
        controllers: [ControlTasks],
        tasks: { concurrency: 1, prefetch: 50 },
      });
    });

    afterAll(() => worker.close());

    it('ctx.retry sends the task again with retries + 1 until it succeeds', async () => {
      const handle = await producer.client.send('gateway.ask_retry', { succeedOn: 2 });
      expect(await handle.result()).toBe('succeeded on retry 2');
      expect(attempts.get(handle.id)).toEqual([0, 1, 2]);
      expect(await handle.state()).toMatchObject({ state: 'SUCCESS', retries: 2 });
    });

    it('ctx.retry past retryCountMax dead-letters the task retries-exhausted', async () => {
      const handle = await producer.client.send('gateway.ask_retry', { succeedOn: 99 });
      expect(await settled(handle.id)).toMatchObject({
        state: 'FAILURE',
        errorMessage: 'not yet (2)',
      });
      expect(attempts.get(handle.id)).toEqual([0, 1, 2]);
      const letters = await producer.deadLetters.list({ queue: 'gateway' });
      expect(letters.find((letter) => letter.id === handle.id)).toMatchObject({
        reason: 'retries-exhausted',
      });
    });

    it('ignoreResult: no row for a success, yet the waiting caller gets the result', async () => {
      const byTask = await producer.client.send('gateway.lookup', { value: 'balance' });
      const byCall = await producer.client.send(
        'gateway.echo',
        { value: 'quiet' },
        { ignoreResult: true },
      );
      const kept = await producer.client.send('gateway.echo', { value: 'kept' });
      expect(await byTask.result()).toEqual({ found: 'balance' });
      expect(await byCall.result()).toBe('quiet');
      expect(await kept.result()).toBe('kept');
      // A stored result is committed before it is notified: had one been written, it is there.
      expect(await rows(byTask.id)).toBe(0);
      expect(await rows(byCall.id)).toBe(0);
      expect(await rows(kept.id)).toBe(1);
    });

    it('ignoreResult still stores a failure', async () => {
      const handle = await producer.client.send('gateway.lookup', { value: 'x', fail: true });
      expect(await settled(handle.id)).toMatchObject({
        state: 'FAILURE',
        errorMessage: 'lookup failed',
      });
      expect(await rows(handle.id)).toBe(1);
    });

    it('rate limit per worker: one task per hour starts, and waiting ones hold no slot', async () => {
      const limited = await Promise.all(
        [1, 2, 3].map(() => producer.client.send('gateway.hourly', {})),
      );
      await eventually(() => startedCount('gateway.hourly') === 1, {
        what: 'the first hourly task to start',
      });
      // Concurrency 1, two tasks waiting for their token: an unlimited task runs at once.
      expect(await (await producer.client.send('gateway.echo', {})).result()).toBe('echo');
      await holdsFor(() => startedCount('gateway.hourly') === 1, {
        what: 'no second hourly task within the hour',
      });
      expect((await settled(limited[0]?.id ?? '')).state).toBe('SUCCESS');
    });

    it('rate limit per worker: k tasks at N/s start over at least (k - 1) / N s', async () => {
      const count = 3 * FAST_RATE_PER_S;
      const sentAt = performance.now();
      const handles = await Promise.all(
        Array.from({ length: count }, () => producer.client.send('gateway.fast', {})),
      );
      await Promise.all(handles.map((handle) => handle.result()));
      const last = Math.max(...(starts.get('gateway.fast') ?? []));
      expect(last - sentAt).toBeGreaterThanOrEqual(((count - 1) * 1_000) / FAST_RATE_PER_S);
    });
  });

  describe('with two workers', () => {
    let workers: [TaskApp, TaskApp];

    beforeAll(async () => {
      // Rate-limited tasks the last worker gave back at its shutdown would fill a prefetch.
      const raw = await connect(infra.amqpUrl);
      await (await raw.createChannel()).purgeQueue('gateway');
      await raw.close();
      workers = await twoWorkers();
    });

    afterAll(() => Promise.all(workers.map((worker) => worker.close())));

    it('inspect: every worker answers registered, stats, active and reserved', async () => {
      const control = producer.app.get(TaskControl);
      const registered = await control.inspect('registered', { limit: 2, timeoutMs: 20_000 });
      expect(registered.map((r) => r.worker).sort()).toEqual([
        expect.stringMatching(/^worker-a@/),
        expect.stringMatching(/^worker-b@/),
      ]);
      for (const reply of registered) expect(reply.reply).toContain('gateway.echo');

      const stats = await control.inspect('stats', { limit: 2, timeoutMs: 20_000 });
      expect(stats).toHaveLength(2);
      for (const { reply } of stats) {
        expect(reply).toMatchObject({ pid: process.pid, concurrency: 1, prefetch: 1 });
        expect(reply.queues).toContain('gateway');
      }

      gate.close();
      const waiting = await Promise.all(
        [1, 2, 3].map(() => producer.client.send('gateway.wait', {})),
      );
      const ids = waiting.map((handle) => handle.id);
      // Two run (one per worker, concurrency 1); prefetch 1 leaves the third in the queue.
      await eventually(
        async () => {
          const active = await control.inspect('active', { limit: 2, timeoutMs: 20_000 });
          const running = active.flatMap((r) => r.reply.map((task) => task.id));
          return running.length === 2 && running.every((id) => ids.includes(id));
        },
        { what: 'two waiting tasks active, one on each worker' },
      );
      const active = await control.inspect('active', { limit: 2, timeoutMs: 20_000 });
      for (const { worker, reply } of active) {
        expect(reply).toEqual([
          expect.objectContaining({
            name: 'gateway.wait',
            worker,
            queue: 'gateway',
            startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
          }),
        ]);
      }
      gate.open();
      await Promise.all(waiting.map((handle) => handle.result()));
      // A run is counted once it is over, just after its result was sent.
      await eventually(
        async () => {
          const stats = await control.inspect('stats', { limit: 2, timeoutMs: 20_000 });
          const counts = stats.map((r) => r.reply.processed['gateway.wait'] ?? 0);
          return counts.reduce((sum, n) => sum + n, 0) === 3;
        },
        { what: 'three waits processed over the two workers' },
      );
    });

    it('inspect reserved: prefetched tasks waiting for a slot', async () => {
      const control = producer.app.get(TaskControl);
      const solo = await startTaskApp({
        infra,
        service: 'worker-solo',
        controllers: [ControlTasks],
        tasks: { prefetch: 10, concurrency: 1 },
      });
      await Promise.all(workers.map((worker) => worker.close()));
      try {
        gate.close();
        const waiting = await Promise.all(
          [1, 2, 3].map(() => producer.client.send('gateway.wait', {})),
        );
        await eventually(
          async () => {
            const [reply] = await control.inspect('reserved', { limit: 1, timeoutMs: 20_000 });
            return reply?.reply.length === 2;
          },
          { what: 'two tasks reserved behind the running one' },
        );
        gate.open();
        await Promise.all(waiting.map((handle) => handle.result()));
      } finally {
        workers = await twoWorkers();
        await solo.close();
      }
    });

    it('a global rate limit: k tasks at N/s over two workers start over at least (k - 1) / N s', async () => {
      const count = 2 * FAST_RATE_PER_S;
      const sentAt = performance.now();
      const handles = await Promise.all(
        Array.from({ length: count }, () => producer.client.send('gateway.fast_global', {})),
      );
      await Promise.all(handles.map((handle) => handle.result()));
      const last = Math.max(...(starts.get('gateway.fast_global') ?? []));
      expect(last - sentAt).toBeGreaterThanOrEqual(((count - 1) * 1_000) / FAST_RATE_PER_S);
    });

    // Last: the tasks it leaves waiting fill both workers' prefetch.
    it('a global rate limit counts across workers: one task per hour in all', async () => {
      await Promise.all([1, 2, 3, 4].map(() => producer.client.send('gateway.hourly_global', {})));
      await eventually(() => startedCount('gateway.hourly_global') === 1, {
        what: 'the first task to start',
      });
      // Prefetch 1: while one worker holds a waiting task, the other receives one too.
      await holdsFor(() => startedCount('gateway.hourly_global') === 1, {
        durationMs: 2_000,
        what: 'no second task on either worker within the hour',
      });
    });
  });
});
