/**
 * The transactional outbox: a task enqueued with `enqueueTask` commits or rolls back
 * with the caller's own rows, and a committed one is published even when its producer
 * dies between commit and publish.
 *
 * How: a producer process (fixtures/outbox-producer.ts, outbox relay off) commits an
 * order row and its `gateway.ship_order` task, then SIGKILLs itself. The task must be
 * waiting in `task_outbox` with `sent_at` null and must not be in the queue. A worker
 * app with the relay on is then started: its sweep must publish the leftover row, mark
 * it sent, and the task must run, delivered exactly once (counted in `afterCommit`,
 * which sees every delivery, duplicates included). A transaction that enqueues a task
 * and rolls back must leave nothing that is ever published, while a committed one
 * enqueued after it goes through.
 */
import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import type { Channel, ChannelModel } from 'amqplib';
import { connect } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { enqueueTask, Task, TaskContext } from '@clearline/tasks';
import {
  eventually,
  holdsFor,
  isolatedInfrastructure,
  startTaskApp,
  type IsolatedInfrastructure,
  type TaskApp,
} from '@clearline/testing';
import { startFixture } from './fixtures/fixture-process';

/**
 * How long the test watches for a publish that must never happen: longer than the
 * relay's sweep interval (1 s). A slow machine only makes the watch less sensitive.
 */
const SWEEP_WAIT_MS = 1_300;

const deliveries = new Map<string, number>();

@Controller()
class ShippingTasks {
  @Task('gateway.ship_order', { transactional: true })
  async shipOrder(
    @Payload() payload: { orderId: string },
    @Ctx() ctx: TaskContext,
  ): Promise<{ shipped: string }> {
    await ctx.manager.query(`UPDATE test_orders SET shipped = true WHERE order_id = $1`, [
      payload.orderId,
    ]);
    return { shipped: payload.orderId };
  }
}

class RollBack extends Error {
  override readonly name = 'RollBack';
}

interface OutboxRow {
  sent_at: Date | null;
}

describe('outbox relay', () => {
  let infra: IsolatedInfrastructure;
  let worker: TaskApp | null = null;
  let raw: ChannelModel;
  let channel: Channel;
  // The test's own connection: the database is looked at before any app exists.
  let db: Client;

  const sql = async <T>(query: string, parameters: unknown[] = []): Promise<T[]> =>
    (await db.query(query, parameters)).rows as T[];

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    raw = await connect(infra.amqpUrl);
    channel = await raw.createChannel();
    db = new Client({ connectionString: infra.databaseUrl });
    await db.connect();
    await sql(
      `CREATE TABLE test_orders (order_id text PRIMARY KEY, shipped boolean NOT NULL DEFAULT false)`,
    );
  });

  afterAll(async () => {
    await worker?.close();
    await db.end();
    await raw.close();
    await infra.destroy();
  });

  const outboxRows = (taskId: string): Promise<OutboxRow[]> =>
    sql<OutboxRow>(`SELECT sent_at FROM task_outbox WHERE task_id = $1`, [taskId]);

  it('publishes a task whose producer died between commit and publish, exactly once', async () => {
    const orderId = `order-${randomUUID()}`;
    const taskId = randomUUID();
    const producer = startFixture('outbox-producer', {
      ...infra.env,
      ORDER_ID: orderId,
      TASK_ID: taskId,
    });
    await expect(producer.exit()).resolves.toEqual({ code: null, signal: 'SIGKILL' });

    expect(await sql(`SELECT order_id FROM test_orders WHERE order_id = $1`, [orderId])).toEqual([
      { order_id: orderId },
    ]);
    expect(await outboxRows(taskId)).toEqual([{ sent_at: null }]);
    expect((await channel.checkQueue('gateway')).messageCount).toBe(0);

    worker = await startTaskApp({
      infra,
      controllers: [ShippingTasks],
      tasks: {
        afterCommit: (message) => {
          deliveries.set(message.id, (deliveries.get(message.id) ?? 0) + 1);
        },
      },
    });
    const handle = worker.client.handle(taskId);
    await expect(handle.result()).resolves.toEqual({ shipped: orderId });
    const [row] = await eventually(async () => {
      const rows = await outboxRows(taskId);
      return rows[0]?.sent_at ? rows : undefined;
    });
    expect(row?.sent_at).toBeInstanceOf(Date);
    expect(await sql(`SELECT shipped FROM test_orders WHERE order_id = $1`, [orderId])).toEqual([
      { shipped: true },
    ]);

    // The waiter is woken by the commit; the delivery is counted just after it.
    await eventually(() => deliveries.get(taskId) === 1, { what: 'the delivery counted' });
    // Never published again: watched over more than a sweep.
    await holdsFor(
      async () =>
        deliveries.get(taskId) === 1 && (await channel.checkQueue('gateway')).messageCount === 0,
      { durationMs: SWEEP_WAIT_MS, what: 'the task delivered once, nothing more queued' },
    );
  });

  it('never publishes the task of a transaction that rolled back', async () => {
    const app = worker!;
    const rolledBack = { orderId: `order-${randomUUID()}`, taskId: randomUUID() };
    const committed = { orderId: `order-${randomUUID()}`, taskId: randomUUID() };
    const placeOrder = async (
      order: typeof rolledBack,
      outcome: 'commit' | 'roll back',
    ): Promise<void> =>
      app.dataSource.transaction('READ COMMITTED', async (manager) => {
        await manager.query(`INSERT INTO test_orders (order_id) VALUES ($1)`, [order.orderId]);
        await enqueueTask(
          manager,
          'gateway.ship_order',
          { orderId: order.orderId },
          {
            id: order.taskId,
          },
        );
        if (outcome === 'roll back') throw new RollBack('payment declined');
      });

    await expect(placeOrder(rolledBack, 'roll back')).rejects.toBeInstanceOf(RollBack);
    await placeOrder(committed, 'commit');
    await expect(app.client.handle(committed.taskId).result()).resolves.toEqual({
      shipped: committed.orderId,
    });

    expect(await outboxRows(rolledBack.taskId)).toEqual([]);
    // Never published: watched over more than a sweep.
    await holdsFor(() => !deliveries.has(rolledBack.taskId), {
      durationMs: SWEEP_WAIT_MS,
      what: 'the rolled-back task never delivered',
    });
    await expect(app.client.handle(rolledBack.taskId).state()).resolves.toBeNull();
    expect(
      await sql(`SELECT order_id FROM test_orders WHERE order_id = $1`, [rolledBack.orderId]),
    ).toEqual([]);
  });
});
