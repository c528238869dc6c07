/**
 * Ordered tasks: `@Task('orders.apply', { orderedBy: 'key' })` in the `orders` lane
 * (a consistent-hash exchange over four quorum shard queues, single active consumer
 * each) applies the tasks of one key one at a time, in the order they were sent.
 *
 * How: four real worker processes (fixtures/ordered-worker.ts, prefetch 20 and
 * concurrency 8 each, every task waiting a random few milliseconds before its insert
 * so that tasks run side by side would overtake each other) consume the lane; a
 * producer sends many keys' tasks interleaved; each task appends `(key, seq)` to
 * `test_applied`, whose bigserial id is the order of application. Per key, the applied
 * `seq` must be exactly 0, 1, 2, … in id order.
 *
 * A few tasks fail with a retryable error, or ask for a retry (`ctx.retry`), first:
 * their retries wait in place, holding the shard, so no later task of their key
 * overtakes them.
 *
 * Under redelivery: one task SIGKILLs the worker running it mid-task (before its
 * commit) and another SIGKILLs its worker after its commit, before the ack. The
 * killed worker's unacknowledged deliveries return to the head of their shards and the
 * next worker becomes the single active consumer: per key the order must still hold,
 * and every task must be applied exactly once (the inbox drops the committed one's
 * redelivery). Then the active worker is stopped gracefully (SIGTERM) in the middle of
 * a stream: it gives its shards back, in order, and the order still holds. With plain queues, or shards without single active consumer, or a
 * worker running a shard's deliveries in parallel, or retries through the delay queues,
 * or returned deliveries behind later ones, the sequences come out of order.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  eventually,
  isolatedInfrastructure,
  startTaskApp,
  type IsolatedInfrastructure,
  type TaskApp,
} from '@clearline/testing';
import { startFixture, type FixtureProcess } from './fixtures/fixture-process';
import { ORDERED_TASK, orderedWorkQueues } from './fixtures/ordered-lane';

const SHARDS = 4;
const WORKERS = 4;

interface AppliedRow {
  key: string;
  seqs: number[];
}

describe('ordered tasks (consistent-hash shards, single active consumer)', () => {
  let infra: IsolatedInfrastructure;
  let producer: TaskApp;
  let markers: string;
  const workers: FixtureProcess[] = [];

  /** Sends `keys` × `seqs` tasks, interleaved (seq 0 of every key, then seq 1, …). */
  const sendAll = async (
    prefix: string,
    keys: number,
    seqs: number,
    faults: Record<string, Record<string, unknown>> = {},
  ): Promise<string[]> => {
    const names = Array.from({ length: keys }, (_, k) => `${prefix}-${k}`);
    const sends: Promise<unknown>[] = [];
    for (let seq = 0; seq < seqs; seq += 1) {
      for (const key of names) {
        sends.push(producer.client.send(ORDERED_TASK, { key, seq, ...faults[`${key}/${seq}`] }));
      }
    }
    // One publishing channel: the broker receives the tasks in the order they were sent.
    await Promise.all(sends);
    return names;
  };

  const appliedCount = async (prefix: string): Promise<number> => {
    const rows: { count: number }[] = await producer.dataSource.query(
      `SELECT count(*)::int AS count FROM test_applied WHERE key LIKE $1`,
      [`${prefix}-%`],
    );
    return rows[0]?.count ?? 0;
  };

  /** Waits until every task of `prefix` applied; says how far it got and what the workers said. */
  const allApplied = async (prefix: string, total: number): Promise<void> => {
    try {
      await eventually(async () => (await appliedCount(prefix)) >= total, {
        what: `${total} ${prefix} tasks applied`,
        timeoutMs: 40_000,
      });
    } catch (error) {
      const output = workers.map((worker) => worker.output()).join('\n---\n');
      throw new Error(`${String(error)} (${await appliedCount(prefix)} applied)\n${output}`, {
        cause: error,
      });
    }
  };

  const appliedSequences = async (prefix: string): Promise<AppliedRow[]> =>
    producer.dataSource.query(
      `SELECT key, array_agg(seq ORDER BY id) AS seqs FROM test_applied
        WHERE key LIKE $1 GROUP BY key ORDER BY key`,
      [`${prefix}-%`],
    );

  const inOrder = (keys: string[], seqs: number): AppliedRow[] =>
    keys.sort().map((key) => ({ key, seqs: Array.from({ length: seqs }, (_, i) => i) }));

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    producer = await startTaskApp({ infra, tasks: { workQueues: orderedWorkQueues(SHARDS) } });
    await producer.dataSource.query(
      `CREATE TABLE test_applied (id bigserial PRIMARY KEY, key text NOT NULL, seq int NOT NULL,
                                  task_id text NOT NULL, worker int NOT NULL)`,
    );
    markers = mkdtempSync(join(tmpdir(), 'clearline-ordered-'));
    const env = {
      ...infra.env,
      TASK_PREFETCH: '20',
      TASK_CONCURRENCY: '8',
      ORDERED_SHARDS: String(SHARDS),
      APPLY_JITTER_MS: '10',
      CRASH_MARKER_DIR: markers,
    };
    for (let i = 0; i < WORKERS; i += 1) workers.push(startFixture('ordered-worker', env));
    await Promise.all(workers.map((worker) => worker.line(/^ready \d+$/, 40_000)));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    await producer.close();
    await infra.destroy();
    rmSync(markers, { recursive: true, force: true });
  });

  it('applies the tasks of each key in send order, with four workers, retries included', async () => {
    const keys = await sendAll('steady', 12, 60, {
      'steady-1/10': { failures: 2 },
      'steady-5/30': { failures: 1 },
      'steady-8/45': { retryRequests: 2 },
    });

    await allApplied('steady', 12 * 60);
    expect(await appliedSequences('steady')).toEqual(inOrder(keys, 60));
    // The retried tasks did fail (or ask for a retry) first, then applied.
    const retried: { key: string; seq: number; retries: number }[] =
      await producer.dataSource.query(
        `SELECT a.key, a.seq, r.retries FROM test_applied a JOIN task_results r ON r.id = a.task_id
          WHERE r.retries > 0 AND a.key LIKE 'steady-%' ORDER BY a.key`,
      );
    expect(retried).toEqual([
      { key: 'steady-1', seq: 10, retries: 2 },
      { key: 'steady-5', seq: 30, retries: 1 },
      { key: 'steady-8', seq: 45, retries: 2 },
    ]);
  }, 55_000);

  it('keeps the order when the worker holding a shard is killed, and applies nothing twice', async () => {
    const keys = await sendAll('killed', 12, 40, {
      'killed-3/8': { crash: 'mid-task' },
      'killed-10/17': { crash: 'after-commit' },
    });

    await allApplied('killed', 12 * 40);
    expect(await appliedSequences('killed')).toEqual(inOrder(keys, 40));
    // Both faults fired, each in the worker that held the shard at the time.
    const exits = await Promise.all(
      workers.map((worker) => Promise.race([worker.exited, Promise.resolve(null)])),
    );
    expect(exits.filter((exit) => exit?.signal === 'SIGKILL')).toHaveLength(2);
  }, 55_000);

  it('keeps the order when the active worker stops gracefully in the middle', async () => {
    const keys = await sendAll('stopped', 12, 40);
    await eventually(async () => (await appliedCount('stopped')) >= 60, {
      what: 'the first tasks applied',
    });
    const [last] = await producer.dataSource.query<{ worker: number }[]>(
      `SELECT worker FROM test_applied WHERE key LIKE 'stopped-%' ORDER BY id DESC LIMIT 1`,
    );
    const active = workers.find((worker) => worker.child.pid === last?.worker);
    // SIGTERM: it starts nothing new, finishes the running task, closes its shard channels.
    await expect(active?.stop()).resolves.toEqual({ code: 0, signal: null });

    await allApplied('stopped', 12 * 40);
    expect(await appliedSequences('stopped')).toEqual(inOrder(keys, 40));
  }, 55_000);
});
