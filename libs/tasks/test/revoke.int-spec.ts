/**
 * Revoke: a revoked task ends REVOKED, is acknowledged and never runs — whether the
 * worker was running when it was revoked (it hears the broadcast on the control
 * exchange) or started afterwards (it reads `task_revocations` before consuming); with
 * `terminate`, a running transactional handler is aborted through `ctx.signal`, ends
 * REVOKED, its writes are rolled back and nothing it sends later commits; revoking a
 * finished task changes nothing.
 *
 * How: real workers (in-process Nest apps on this file's vhost and database). A task
 * sent while no worker runs is revoked, then a worker is started; a task delayed by a
 * countdown is revoked while a worker runs; the handlers count their runs, so "never
 * ran" is a count of zero once the REVOKED row exists (the row is written where the run
 * would have been). The terminated handler inserts a row, waits at a gate, and tries
 * another insert after the test saw REVOKED; neither row may exist.
 */
import { Controller } from '@nestjs/common';
import { Ctx } from '@nestjs/microservices';
import type { Channel, ChannelModel } from 'amqplib';
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

const runs = new Map<string, number>();
const seen = { abortReason: new Map<string, string>(), lateWrite: new Map<string, string>() };

/** Where the terminated handler waits before its late write, until the test opens it. */
const late = new Gate();

@Controller()
class RevokeTasks {
  @Task('gateway.count_run')
  countRun(@Ctx() ctx: TaskContext): string {
    runs.set(ctx.taskId, (runs.get(ctx.taskId) ?? 0) + 1);
    return 'ran';
  }

  @Task('gateway.write_and_wait', { transactional: true })
  async writeAndWait(@Ctx() ctx: TaskContext): Promise<string> {
    runs.set(ctx.taskId, (runs.get(ctx.taskId) ?? 0) + 1);
    await ctx.manager.query(`INSERT INTO test_writes (task_id, step) VALUES ($1, 'first')`, [
      ctx.taskId,
    ]);
    await new Promise<void>((resolve) =>
      ctx.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    seen.abortReason.set(ctx.taskId, (ctx.signal.reason as Error).name);
    await late.opened;
    try {
      await ctx.manager.query(`INSERT INTO test_writes (task_id, step) VALUES ($1, 'late')`, [
        ctx.taskId,
      ]);
      seen.lateWrite.set(ctx.taskId, 'written');
    } catch (error) {
      seen.lateWrite.set(ctx.taskId, `refused: ${(error as Error).name}`);
    }
    return 'finished';
  }
}

describe('revoke', () => {
  let infra: IsolatedInfrastructure;
  let producer: TaskApp;
  let control: TaskControl;
  let raw: ChannelModel;
  let channel: Channel;

  const settled = (id: string): Promise<TaskResultRecord> =>
    producer.client.handle(id).settled({ timeoutMs: 30_000 });
  const writes = async (id: string): Promise<number> => {
    const rows: { count: number }[] = await producer.dataSource.query(
      `SELECT count(*)::int AS count FROM test_writes WHERE task_id = $1`,
      [id],
    );
    return rows[0]?.count ?? 0;
  };

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    // Sends, revokes and reads results; consumes nothing (it has no task handlers).
    producer = await startTaskApp({ infra });
    control = producer.app.get(TaskControl);
    await producer.dataSource.query(`CREATE TABLE test_writes (task_id text, step text)`);
    raw = await connect(infra.amqpUrl);
    channel = await raw.createChannel();
  });

  afterAll(async () => {
    late.open();
    await raw.close();
    await producer.close();
    await infra.destroy();
  });

  it('skips a task revoked before any worker ran, in a worker started after the revoke', async () => {
    const revoked = await producer.client.send('gateway.count_run', {});
    const kept = await producer.client.send('gateway.count_run', {});
    await control.revoke(revoked.id, { reason: 'customer cancelled' });

    const worker = await startTaskApp({ infra, controllers: [RevokeTasks] });
    try {
      expect(await kept.result()).toBe('ran');
      const record = await settled(revoked.id);
      expect(record).toMatchObject({ state: 'REVOKED', errorMessage: 'customer cancelled' });
      expect(runs.get(revoked.id)).toBeUndefined();
      // Acknowledged: nothing is left in the queue to come back.
      expect((await channel.checkQueue('gateway')).messageCount).toBe(0);
    } finally {
      await worker.close();
    }
    // Still unacknowledged messages would be back in the queue once the worker left.
    expect((await channel.checkQueue('gateway')).messageCount).toBe(0);
  });

  it('skips a task revoked while a running worker waits for it (the broadcast)', async () => {
    const worker = await startTaskApp({ infra, controllers: [RevokeTasks] });
    try {
      // The revoke must reach the worker before the task does: the task waits 3 s.
      const handle = await producer.client.send('gateway.count_run', {}, { countdownMs: 3_000 });
      await control.revoke(handle.id);
      expect(await settled(handle.id)).toMatchObject({ state: 'REVOKED' });
      expect(runs.get(handle.id)).toBeUndefined();
    } finally {
      await worker.close();
    }
  });

  it('terminates a running transactional handler: REVOKED, its writes rolled back', async () => {
    late.close();
    const worker = await startTaskApp({
      infra,
      controllers: [RevokeTasks],
      tasks: { concurrency: 1 },
    });
    try {
      const handle = await producer.client.send('gateway.write_and_wait', {});
      await eventually(() => runs.get(handle.id) === 1, { what: 'the handler to start' });
      await control.revoke(handle.id, { terminate: true, reason: 'operator stop' });

      expect(await settled(handle.id)).toMatchObject({
        state: 'REVOKED',
        errorType: 'TaskRevokedError',
        errorMessage: 'operator stop',
      });
      expect(seen.abortReason.get(handle.id)).toBe('TaskRevokedError');
      // The handler slot is free again (concurrency 1): the next task runs.
      const next = await producer.client.send('gateway.count_run', {});
      expect(await next.result()).toBe('ran');

      late.open();
      await eventually(() => seen.lateWrite.get(handle.id), { what: 'the late write attempt' });
      expect(seen.lateWrite.get(handle.id)).toMatch(/^refused/);
      await holdsFor(async () => (await writes(handle.id)) === 0, {
        what: 'no write of the terminated task committed',
      });
      expect(runs.get(handle.id)).toBe(1);
    } finally {
      await worker.close();
    }
  });

  it('changes nothing for a task that already finished', async () => {
    const worker = await startTaskApp({ infra, controllers: [RevokeTasks] });
    try {
      const handle = await producer.client.send('gateway.count_run', {});
      expect(await handle.result()).toBe('ran');
      await control.revoke(handle.id, { terminate: true });
      await holdsFor(async () => (await handle.state())?.state === 'SUCCESS', {
        what: 'the finished task to stay SUCCESS',
      });
      expect(runs.get(handle.id)).toBe(1);
    } finally {
      await worker.close();
    }
  });
});
