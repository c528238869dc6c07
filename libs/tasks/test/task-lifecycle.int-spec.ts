/**
 * The task lifecycle against a real RabbitMQ and PostgreSQL: a task sent with
 * `TaskClient.send` is confirmed by the broker, consumed by a `@Task` handler, and its
 * result lands in `task_results`, where `result()` is woken by NOTIFY. Retries go
 * through the broker's delay levels; failures and bad messages go to the dead-letter
 * queue with their reason; countdown and expires are honoured.
 */
import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { IsInt, IsPositive } from 'class-validator';
import type { Channel, ChannelModel } from 'amqplib';
import { connect } from 'amqplib';
import {
  enqueueTask,
  Task,
  TASK_EXCHANGE,
  TaskContext,
  TaskFailedError,
  TaskTimeoutError,
  UnroutableError,
} from '@clearline/tasks';
import {
  eventually,
  isolatedInfrastructure,
  startTaskApp,
  type IsolatedInfrastructure,
  type TaskApp,
} from '@clearline/testing';

class TransientError extends Error {
  override readonly name = 'TransientError';
}

class AddPayload {
  @IsInt()
  a!: number;

  @IsInt()
  @IsPositive()
  b!: number;
}

/** How late a countdown may run on a loaded machine (delays ride the broker's TTLs). */
const COUNTDOWN_LATE_MS_MAX = 2_000;

const switches = { broken: false };
const gate: { open: () => void } = { open: () => undefined };
const calls = {
  flaky: new Map<string, number>(),
  slowStarted: 0,
  expired: 0,
  runTimes: new Map<string, number>(),
};

@Controller()
class TestTasks {
  @Task('gateway.add', { payload: AddPayload })
  add(@Payload() payload: AddPayload): { sum: number } {
    return { sum: payload.a + payload.b };
  }

  @Task('gateway.flaky', {
    retryOn: [TransientError],
    retryCountMax: 3,
    retryBackoffMs: 100,
    retryJitter: false,
  })
  flaky(@Payload() payload: { failTimes: number }, @Ctx() ctx: TaskContext): string {
    const seen = (calls.flaky.get(ctx.taskId) ?? 0) + 1;
    calls.flaky.set(ctx.taskId, seen);
    calls.runTimes.set(`${ctx.taskId}:${seen}`, Date.now());
    if (seen <= payload.failTimes) throw new TransientError(`attempt ${seen} failed`);
    return `ok after ${seen}`;
  }

  @Task('gateway.broken')
  broken(): never {
    throw new Error('permanently broken');
  }

  @Task('gateway.switch')
  switch(): string {
    if (switches.broken) throw new Error('switched off');
    return 'switched on';
  }

  @Task('gateway.tracked', { trackStarted: true })
  async tracked(): Promise<string> {
    await new Promise<void>((resolve) => (gate.open = resolve));
    return 'done';
  }

  @Task('gateway.stamp')
  stamp(): number {
    calls.expired += 1;
    return Date.now();
  }
}

describe('task lifecycle', () => {
  let infra: IsolatedInfrastructure;
  let worker: TaskApp;
  let raw: ChannelModel;
  let channel: Channel;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    worker = await startTaskApp({
      infra,
      controllers: [TestTasks],
      tasks: { prefetch: 20, concurrency: 10 },
    });
    raw = await connect(infra.amqpUrl);
    channel = await raw.createChannel();
  });

  afterAll(async () => {
    await raw.close();
    await worker.close();
    await infra.destroy();
  });

  it('runs a task and returns its stored result to the caller', async () => {
    const handle = await worker.client.send('gateway.add', { a: 2, b: 40 });
    await expect(handle.result()).resolves.toEqual({ sum: 42 });
    const record = await handle.state();
    expect(record).toMatchObject({
      state: 'SUCCESS',
      task: 'gateway.add',
      queue: 'gateway',
      retries: 0,
    });
    expect(record?.dateDone).toBeInstanceOf(Date);
  });

  it('rejects a publish that no queue can take instead of dropping it', async () => {
    await expect(worker.client.send('nowhere.task', {})).rejects.toBeInstanceOf(UnroutableError);
  });

  it('retries a transient failure with exponential backoff through the broker, then succeeds', async () => {
    const handle = await worker.client.send('gateway.flaky', { failTimes: 2 });
    await expect(handle.result()).resolves.toBe('ok after 3');
    const record = await handle.state();
    expect(record).toMatchObject({ state: 'SUCCESS', retries: 2 });
    const first = calls.runTimes.get(`${handle.id}:1`)!;
    const second = calls.runTimes.get(`${handle.id}:2`)!;
    const third = calls.runTimes.get(`${handle.id}:3`)!;
    // Backoff without jitter: 100 ms, then 200 ms.
    expect(second - first).toBeGreaterThanOrEqual(95);
    expect(third - second).toBeGreaterThanOrEqual(195);
  });

  it('dead-letters a task that exhausts its retries, with the reason, and records FAILURE', async () => {
    const handle = await worker.client.send('gateway.flaky', { failTimes: 100 });
    const record = await handle.settled();
    expect(record).toMatchObject({ state: 'FAILURE', retries: 3, errorType: 'TransientError' });
    expect(calls.flaky.get(handle.id)).toBe(4);
    const letters = await eventually(async () => {
      const list = await worker.deadLetters.list({ queue: 'gateway' });
      return list.find((l) => l.id === handle.id);
    });
    expect(letters).toMatchObject({
      reason: 'retries-exhausted',
      task: 'gateway.flaky',
      queue: 'gateway',
    });
    expect(letters.error).toContain('attempt 4 failed');
  });

  it('fails a permanent error at once, dead-lettered, and result() throws it', async () => {
    const handle = await worker.client.send('gateway.broken', {});
    const failure = await handle.result().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TaskFailedError);
    expect((failure as TaskFailedError).record.errorMessage).toBe('permanently broken');
    expect((failure as TaskFailedError).record.traceback).toContain('broken');
    const letter = await eventually(async () =>
      (await worker.deadLetters.list({ queue: 'gateway' })).find((l) => l.id === handle.id),
    );
    expect(letter.reason).toBe('failed');
  });

  it('dead-letters a malformed message and an invalid payload, and keeps consuming', async () => {
    channel.publish(TASK_EXCHANGE, 'gateway', Buffer.from('{not json'), {
      messageId: 'garbage-1',
      contentType: 'application/json',
      headers: { task: 'gateway.add', id: 'garbage-1' },
    });
    const invalid = await worker.client.send('gateway.add', { a: 1, b: -5, extra: true });
    const invalidRecord = await invalid.settled();
    expect(invalidRecord.state).toBe('FAILURE');
    expect(invalidRecord.errorMessage).toContain('b: b must be a positive number');
    expect(invalidRecord.errorMessage).toContain('extra');
    const after = await worker.client.send('gateway.add', { a: 1, b: 1 });
    await expect(after.result()).resolves.toEqual({ sum: 2 });
    const letters = await eventually(async () => {
      const list = await worker.deadLetters.list({ queue: 'gateway' });
      const garbage = list.find((l) => l.id === 'garbage-1');
      const bad = list.find((l) => l.id === invalid.id);
      return garbage && bad ? { garbage, bad } : undefined;
    });
    expect(letters.garbage).toMatchObject({ reason: 'malformed', error: 'body is not valid JSON' });
    expect(letters.garbage.originalRoutingKey).toBe('gateway');
    expect(letters.bad.reason).toBe('invalid-payload');
  });

  it('dead-letters a message with a negative retries alone, while the tasks around it succeed', async () => {
    const good = await Promise.all(
      [1, 2, 3].map((a) => worker.client.send('gateway.add', { a, b: 1 })),
    );
    const content = Buffer.from(
      JSON.stringify([
        [],
        { a: 1, b: 1 },
        { callbacks: null, errbacks: null, chain: null, chord: null },
      ]),
    );
    channel.publish(TASK_EXCHANGE, 'gateway', content, {
      messageId: 'negative-retries-1',
      contentType: 'application/json',
      headers: { task: 'gateway.add', id: 'negative-retries-1', retries: -1 },
    });
    const more = await Promise.all(
      [4, 5, 6].map((a) => worker.client.send('gateway.add', { a, b: 1 })),
    );
    const sums = await Promise.all([...good, ...more].map((handle) => handle.result()));
    expect(sums).toEqual([2, 3, 4, 5, 6, 7].map((sum) => ({ sum })));
    const letter = await eventually(async () =>
      (await worker.deadLetters.list({ queue: 'gateway' })).find(
        (l) => l.id === 'negative-retries-1',
      ),
    );
    expect(letter).toMatchObject({ reason: 'malformed' });
    expect(letter.error).toMatch(/retries is not a whole number/);
    await expect(worker.store.get('negative-retries-1')).resolves.toBeNull();
  });

  it('replays a dead letter back to its queue, where it runs again', async () => {
    switches.broken = true;
    const handle = await worker.client.send<string>('gateway.switch', {});
    expect((await handle.settled()).state).toBe('FAILURE');
    await eventually(async () =>
      (await worker.deadLetters.list({ queue: 'gateway' })).some((l) => l.id === handle.id),
    );
    switches.broken = false;
    const replayed = await worker.deadLetters.replay(handle.id);
    expect(replayed).toMatchObject({ id: handle.id, reason: 'failed', task: 'gateway.switch' });
    await eventually(async () => (await handle.state())?.state === 'SUCCESS');
    const remaining = await worker.deadLetters.list({ queue: 'gateway' });
    expect(remaining.map((l) => l.id)).not.toContain(handle.id);
    await expect(worker.deadLetters.replay(handle.id)).resolves.toBeNull();
  });

  it('honours a countdown: never early, and not a delay level late', async () => {
    const sentAt = Date.now();
    const handle = await worker.client.send<number>('gateway.stamp', {}, { countdownMs: 1_500 });
    const ranAt = await handle.result();
    expect(ranAt - sentAt).toBeGreaterThanOrEqual(1_500);
    // Late only by the machine's load: the bound is wide for a loaded machine, and still
    // catches a countdown read in the wrong unit or routed through delay levels it lacks.
    expect(ranAt - sentAt).toBeLessThan(1_500 + COUNTDOWN_LATE_MS_MAX);
  });

  it('does not run an expired task and records it REVOKED', async () => {
    const before = calls.expired;
    const handle = await worker.client.send(
      'gateway.stamp',
      {},
      { countdownMs: 400, expires: 100 },
    );
    const record = await handle.settled();
    expect(record).toMatchObject({ state: 'REVOKED', errorType: 'TaskExpired' });
    expect(calls.expired).toBe(before);
  });

  it('returns an outcome that finished before the caller started waiting', async () => {
    const handle = await worker.client.send('gateway.add', { a: 3, b: 4 });
    await eventually(async () => (await handle.state())?.state === 'SUCCESS');
    await expect(handle.result()).resolves.toEqual({ sum: 7 });
  });

  it('answers a resend under the same id from the stored outcome', async () => {
    const first = await worker.client.send('gateway.add', { a: 5, b: 5 }, { id: 'fixed-id-1' });
    await expect(first.result()).resolves.toEqual({ sum: 10 });
    const again = await worker.client.send('gateway.add', { a: 5, b: 5 }, { id: 'fixed-id-1' });
    await expect(again.result()).resolves.toEqual({ sum: 10 });
  });

  it('keeps a SUCCESS whatever a late copy of the task records afterwards (its effects committed)', async () => {
    const handle = await worker.client.send('gateway.add', { a: 2, b: 2 }, { id: 'kept-success' });
    await expect(handle.result()).resolves.toEqual({ sum: 4 });
    // A copy that ran out of retries before its inbox claim, or a late revoke.
    for (const state of ['FAILURE', 'REVOKED', 'RETRY'] as const) {
      await worker.store.write({
        id: 'kept-success',
        task: 'gateway.add',
        queue: 'gateway',
        state,
        errorType: 'ProcessorUnavailableError',
        errorMessage: 'retries exhausted',
        retries: 5,
      });
    }
    expect(await handle.state()).toMatchObject({ state: 'SUCCESS', result: { sum: 4 } });
  });

  it('records STARTED while a trackStarted task runs, and keeps its start time when it succeeds', async () => {
    const handle = await worker.client.send('gateway.tracked', {});
    const started = await eventually(async () => {
      const record = await handle.state();
      return record?.state === 'STARTED' ? record : undefined;
    });
    expect(started.startedAt).toBeInstanceOf(Date);
    gate.open();
    await expect(handle.result()).resolves.toBe('done');
    expect((await handle.state())?.startedAt).toEqual(started.startedAt);
  });

  it('keeps an outbox row that cannot be published, with the reason, instead of dropping it', async () => {
    const id = await worker.dataSource.transaction((manager) =>
      enqueueTask(manager, 'nowhere.task', {}),
    );
    const row = await eventually(async () => {
      const rows: { sent_at: Date | null; attempts: number; last_error: string | null }[] =
        await worker.dataSource.query(
          `SELECT sent_at, attempts, last_error FROM task_outbox WHERE task_id = $1`,
          [id],
        );
      return rows[0]?.last_error ? rows[0] : undefined;
    });
    expect(row.sent_at).toBeNull();
    expect(row.last_error).toContain('reached no queue');
    expect(row.attempts).toBeGreaterThanOrEqual(1);
  });

  it('times out waiting for a task nobody runs', async () => {
    const handle = worker.client.handle('never-sent');
    await expect(handle.result({ timeoutMs: 200 })).rejects.toBeInstanceOf(TaskTimeoutError);
  });
});
