/**
 * The inbox makes a transactional task's effects happen once per task id, however
 * often the broker delivers it: the first delivery records the id in `task_inbox` in
 * the handler's transaction, and any later delivery of that id is acknowledged without
 * running the handler, counted in `clearline_task_duplicates_total`.
 *
 * How: the very same message (same id) is delivered twice to a handler that inserts
 * a row into `test_effects`: once as two identical raw publishes in a row (the worker
 * may well run them side by side), once as a second `send` with the same id after the first has finished. Each
 * time the handler must have run once, one effect row must exist, the result must be
 * SUCCESS and the duplicates counter must have gone up by exactly one.
 */
import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { connect } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { Task, TaskContext } from '@clearline/tasks';
// Internals, for what only this library's own tests look at.
import { buildTask } from '../src/client/task-message-factory';
import { taskMetrics } from '../src/worker/task-metrics';
import {
  eventually,
  isolatedInfrastructure,
  startTaskApp,
  type IsolatedInfrastructure,
  type TaskApp,
} from '@clearline/testing';

const TASK = 'gateway.apply_effect';
const runs = new Map<string, number>();

@Controller()
class EffectTasks {
  @Task(TASK, { transactional: true })
  async applyEffect(
    @Payload() payload: { n: number },
    @Ctx() ctx: TaskContext,
  ): Promise<{ applied: number }> {
    runs.set(ctx.taskId, (runs.get(ctx.taskId) ?? 0) + 1);
    await ctx.manager.query(`INSERT INTO test_effects (task_id, n) VALUES ($1, $2)`, [
      ctx.taskId,
      payload.n,
    ]);
    return { applied: payload.n };
  }
}

async function duplicatesCounted(): Promise<number> {
  const { values } = await taskMetrics.duplicates.get();
  return values.find((v) => v.labels['task'] === TASK)?.value ?? 0;
}

describe('inbox (redelivered transactional task)', () => {
  let infra: IsolatedInfrastructure;
  let worker: TaskApp;
  let raw: ChannelModel;
  let channel: ConfirmChannel;

  const effectRows = async (taskId: string): Promise<number> => {
    const rows: { count: number }[] = await worker.dataSource.query(
      `SELECT count(*)::int AS count FROM test_effects WHERE task_id = $1`,
      [taskId],
    );
    return rows[0]?.count ?? 0;
  };

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    worker = await startTaskApp({
      infra,
      controllers: [EffectTasks],
      tasks: { prefetch: 10, concurrency: 10 },
    });
    await worker.dataSource.query(`CREATE TABLE test_effects (task_id text NOT NULL, n int)`);
    raw = await connect(infra.amqpUrl);
    channel = await raw.createConfirmChannel();
  });

  afterAll(async () => {
    await raw.close();
    await worker.close();
    await infra.destroy();
  });

  it('applies a message published twice back to back once', async () => {
    const before = await duplicatesCounted();
    const task = buildTask(TASK, { n: 1 });
    for (let i = 0; i < 2; i += 1) {
      channel.publish(task.exchange, task.routingKey, task.encoded.content, {
        ...task.encoded.properties,
        persistent: true,
      });
    }
    await channel.waitForConfirms();

    await eventually(async () => (await duplicatesCounted()) === before + 1, {
      what: 'the second delivery counted as a duplicate',
    });
    expect(runs.get(task.id)).toBe(1);
    expect(await effectRows(task.id)).toBe(1);
    await expect(worker.client.handle(task.id).state()).resolves.toMatchObject({
      state: 'SUCCESS',
      result: { applied: 1 },
    });
  });

  it('applies a redelivery that arrives after the task finished once, and keeps its result', async () => {
    const before = await duplicatesCounted();
    const id = randomUUID();
    const first = await worker.client.send(TASK, { n: 2 }, { id });
    await expect(first.result()).resolves.toEqual({ applied: 2 });

    // A redelivery carries the same id; a different payload shows nothing is re-run.
    await worker.client.send(TASK, { n: 99 }, { id });
    await eventually(async () => (await duplicatesCounted()) === before + 1, {
      what: 'the redelivery counted as a duplicate',
    });
    expect(runs.get(id)).toBe(1);
    expect(await effectRows(id)).toBe(1);
    await expect(first.state()).resolves.toMatchObject({
      state: 'SUCCESS',
      result: { applied: 2 },
    });
  });
});
