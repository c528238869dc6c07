/**
 * `npm run bench:ordered`: ordered tasks' throughput with 1, 2, 4 and 8 shards, in one
 * run. Each round has a vhost and database of its own, one worker process
 * (libs/tasks/test/fixtures/ordered-worker.ts: a transactional `orders.apply` that
 * appends `(key, seq)` in its transaction, with inbox and result) and a producer here
 * sending BENCH_ORDERED_TASKS tasks over BENCH_ORDERED_KEYS keys. Throughput counts from
 * the first send until the last task's row is committed; every round also checks that
 * each key's tasks applied in send order.
 * Prints a table, then one line of JSON.
 * Options: BENCH_ORDERED_TASKS (default 4000), BENCH_ORDERED_KEYS (500),
 * BENCH_ORDERED_WORK_MS (0: mean handler work in ms, random up to twice it).
 */
import 'reflect-metadata';
import { startTaskApp } from '@clearline/testing';
import { startFixture } from '../../libs/tasks/test/fixtures/fixture-process';
import { ORDERED_TASK, orderedWorkQueues } from '../../libs/tasks/test/fixtures/ordered-lane';
import { benchInfra } from './lib/bench-infra';
import { runBench } from './lib/platform-bench';
import { round, sleep, windowed } from './lib/stats';

const COUNT = Number(process.env['BENCH_ORDERED_TASKS'] ?? 4_000);
const KEYS = Number(process.env['BENCH_ORDERED_KEYS'] ?? 500);
const WORK_MS = Number(process.env['BENCH_ORDERED_WORK_MS'] ?? 0);
const SHARD_COUNTS = [1, 2, 4, 8] as const;
/** Sends in flight at once from the producer. */
const SEND_WINDOW = 500;
const ROUND_TIMEOUT_MS = 600_000;

interface Round {
  shards: number;
  perS: number;
  seconds: number;
  /** Tasks that applied before an earlier task of their key: must be 0. */
  outOfOrder: number;
}

async function benchRound(shards: number): Promise<Round> {
  const infra = await benchInfra(`ordered_${shards}`);
  const worker = startFixture('ordered-worker', {
    ...infra.env,
    ORDERED_SHARDS: String(shards),
    APPLY_JITTER_MS: String(WORK_MS * 2),
    TASK_PREFETCH: '200',
    TASK_CONCURRENCY: '16',
  });
  const app = await startTaskApp({
    infra: { env: infra.env },
    tasks: { workQueues: orderedWorkQueues(shards) },
  });
  try {
    await app.dataSource.query(
      `CREATE TABLE test_applied (id bigserial PRIMARY KEY, key text NOT NULL, seq int NOT NULL,
                                  task_id text NOT NULL, worker int NOT NULL)`,
    );
    await worker.line(/^ready \d+$/, 60_000);
    const applied = async (): Promise<number> => {
      const rows: { n: number }[] = await app.dataSource.query(
        `SELECT count(*)::int AS n FROM test_applied`,
      );
      return rows[0]?.n ?? 0;
    };
    const started = performance.now();
    await windowed(COUNT, SEND_WINDOW, (i) =>
      app.client.send(ORDERED_TASK, { key: `k${i % KEYS}`, seq: Math.floor(i / KEYS) }),
    );
    while ((await applied()) < COUNT) {
      if (performance.now() - started > ROUND_TIMEOUT_MS) throw new Error('round timed out');
      await sleep(20);
    }
    const seconds = (performance.now() - started) / 1_000;
    const [{ n: outOfOrder } = { n: -1 }]: { n: number }[] = await app.dataSource.query(
      `SELECT count(*)::int AS n FROM (
         SELECT seq, lag(seq) OVER (PARTITION BY key ORDER BY id) AS previous FROM test_applied
       ) t WHERE previous IS NOT NULL AND seq <= previous`,
    );
    return { shards, perS: round(COUNT / seconds, 0), seconds: round(seconds), outOfOrder };
  } finally {
    await app.close();
    await worker.stop();
    await infra.destroy();
  }
}

async function main(): Promise<void> {
  const rounds: Round[] = [];
  for (const shards of SHARD_COUNTS) {
    process.stderr.write(`bench:ordered: ${shards} ${shards === 1 ? 'shard' : 'shards'}…\n`);
    rounds.push(await benchRound(shards));
  }
  console.table(
    Object.fromEntries(
      rounds.map((r) => [
        `${r.shards} ${r.shards === 1 ? 'shard' : 'shards'}`,
        { 'tasks/s': r.perS, seconds: r.seconds, 'out of order': r.outOfOrder },
      ]),
    ),
  );
  const first = rounds[0]?.perS ?? 1;
  console.log(
    `${COUNT} ordered tasks over ${KEYS} keys, handler work ${WORK_MS} ms; ` +
      rounds.map((r) => `${r.shards} shards ${(r.perS / first).toFixed(2)}x`).join(', '),
  );
  console.log(
    JSON.stringify({
      bench: 'ordered',
      tasks: COUNT,
      keys: KEYS,
      work_ms: WORK_MS,
      ...Object.fromEntries(rounds.map((r) => [`shards_${r.shards}_per_s`, r.perS])),
      out_of_order: rounds.reduce((sum, r) => sum + r.outOfOrder, 0),
    }),
  );
  if (rounds.some((r) => r.outOfOrder !== 0)) throw new Error('ordered tasks applied out of order');
}

runBench(main);
