/**
 * Acks-late for transactional tasks: a worker acknowledges a message only after the
 * task's effects, inbox row and SUCCESS result have committed, so a crash between
 * commit and ack loses nothing and the redelivery does not apply the effects again.
 *
 * How: a real worker process (fixtures/effect-worker.ts) runs `gateway.apply_effect`,
 * which inserts a row into `test_effects`, and SIGKILLs itself in `afterCommit`. The
 * committed row must be there once and the message must be back in the queue (an
 * early ack would have removed it). A second worker, started without the crash, must
 * receive the redelivery, skip it through the inbox (its duplicates metric says so)
 * and acknowledge it, leaving still exactly one effect row.
 */
import type { Channel, ChannelModel } from 'amqplib';
import { connect } from 'amqplib';
import {
  eventually,
  holdsFor,
  isolatedInfrastructure,
  startTaskApp,
  type IsolatedInfrastructure,
  type TaskApp,
} from '@clearline/testing';
import { startFixture, type FixtureProcess } from './fixtures/fixture-process';

const DUPLICATES_METRIC =
  /^clearline_task_duplicates_total\{[^}]*task="gateway\.apply_effect"[^}]*\} (\d+)$/m;

/** A worker's `clearline_task_duplicates_total` for `gateway.apply_effect`, read from /metrics. */
async function duplicatesSeen(port: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(DUPLICATES_METRIC.exec(text)?.[1] ?? 0);
}

describe('acks-late (transactional task, worker killed between commit and ack)', () => {
  let infra: IsolatedInfrastructure;
  let producer: TaskApp;
  let raw: ChannelModel;
  let channel: Channel;
  const children: FixtureProcess[] = [];

  const effectRows = async (taskId: string): Promise<number> => {
    const rows: { count: number }[] = await producer.dataSource.query(
      `SELECT count(*)::int AS count FROM test_effects WHERE task_id = $1`,
      [taskId],
    );
    return rows[0]?.count ?? 0;
  };
  const readyInQueue = async (): Promise<number> =>
    (await channel.checkQueue('gateway')).messageCount;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    // Publishes and reads results; consumes nothing (it has no task handlers).
    producer = await startTaskApp({ infra });
    await producer.dataSource.query(`CREATE TABLE test_effects (task_id text NOT NULL, n int)`);
    raw = await connect(infra.amqpUrl);
    channel = await raw.createChannel();
  });

  afterAll(async () => {
    await Promise.all(children.map((child) => child.stop()));
    await raw.close();
    await producer.close();
    await infra.destroy();
  });

  it('keeps the message after a crash past the commit, and the redelivery applies nothing twice', async () => {
    const crashing = startFixture('effect-worker', { ...infra.env, CRASH_AFTER_COMMIT: '1' });
    children.push(crashing);
    await crashing.line(/^ready \d+$/);
    const handle = await producer.client.send('gateway.apply_effect', { n: 7 });

    await expect(crashing.exit()).resolves.toEqual({ code: null, signal: 'SIGKILL' });
    // The transaction committed before the crash: effect, inbox row and result are there.
    expect(await effectRows(handle.id)).toBe(1);
    expect(await handle.state()).toMatchObject({ state: 'SUCCESS', result: { applied: 7 } });
    // ...but the message was never acknowledged: the broker has it again.
    await eventually(async () => (await readyInQueue()) === 1, {
      what: 'the unacknowledged message back in the queue',
    });

    const worker = startFixture('effect-worker', infra.env);
    children.push(worker);
    const [, port = ''] = await worker.line(/^ready (\d+)$/);
    await eventually(async () => (await duplicatesSeen(port)) === 1, {
      what: 'the redelivery counted as a duplicate',
    });
    // Nest closes the app on SIGTERM (consumers drained, results flushed), then exits 0.
    await expect(worker.stop()).resolves.toEqual({ code: 0, signal: null });

    expect(await effectRows(handle.id)).toBe(1);
    expect(await handle.state()).toMatchObject({ state: 'SUCCESS', result: { applied: 7 } });
    // The duplicate was acknowledged before the worker left: an unacknowledged message
    // would come back to the queue once the broker has dropped the worker's channel.
    await eventually(async () => (await channel.checkQueue('gateway')).consumerCount === 0, {
      what: 'the queue to forget the stopped worker',
    });
    await holdsFor(async () => (await readyInQueue()) === 0, {
      what: 'no message back in the queue',
    });
  });
});
