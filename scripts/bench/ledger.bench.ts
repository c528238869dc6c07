/**
 * `npm run bench:ledger`: transfers/s and latency through the ledger service (task sent
 * → applied and committed → result stored → acknowledged), its worker in its own
 * process as in production, on quorum queues with confirms and durable commits:
 *   (a) random: `ledger.create_transfers` tasks of 1,000 transfers between random accounts;
 *   (b) hot: the same, with 80% of transfers crediting one account (a big merchant);
 *   (c) single: one transfer per task, as the payment path sends them, at the most the
 *       ledger takes (1,000 in flight);
 *   (d) latency: one transfer per task at a paced 1,000/s, send → result (`p99_ms`);
 * and, in the same run, the raw limits for the same work: PostgreSQL inserting the same
 * rows with a plain multi-row INSERT loop, and the broker as in `bench:tasks`.
 * Prints a table, then one line of JSON.
 * Options: BENCH_TRANSFERS (default 200000), BENCH_SINGLE (20000), BENCH_PACED (5000), BENCH_ACCOUNTS (10000),
 * BENCH_PROFILE_DIR (a CPU profile of the ledger process).
 */
import 'reflect-metadata';
import { LEDGER_TASK, type CreateTransfersResult, type TransferWire } from '@clearline/contracts';
import { startService, startTaskApp, type TaskApp } from '@clearline/testing';
import { Client } from 'pg';
import { runBench } from './lib/platform-bench';
import { benchInfra, type BenchInfra } from './lib/bench-infra';
import { rawAmqp } from './lib/raw-amqp';
import { latency, paced, round, sleep, windowed, type Latency } from './lib/stats';

const TRANSFERS = Number(process.env['BENCH_TRANSFERS'] ?? 200_000);
const SINGLE = Number(process.env['BENCH_SINGLE'] ?? 20_000);
const ACCOUNTS = Number(process.env['BENCH_ACCOUNTS'] ?? 10_000);
const PER_TASK = 1_000;
const BATCH_WINDOW = 16;
const SINGLE_WINDOW = 1_000;
const PACED = Number(process.env['BENCH_PACED'] ?? 5_000);
const LEDGER_PORT = 3_901;
const HOT = 'bench:hot';

/** BENCH_PROFILE_DIR=<dir> writes a V8 CPU profile of the ledger process there. */
function profileArgs(): string[] {
  const dir = process.env['BENCH_PROFILE_DIR'];
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

function progress(step: string): void {
  process.stderr.write(`bench:ledger: ${step}…\n`);
}

const accountId = (i: number): string => `bench:${i}`;
const pick = (): number => Math.floor(Math.random() * ACCOUNTS);

function transfer(run: string, n: number, hot: boolean): TransferWire {
  const debit = pick();
  let credit = pick();
  if (credit === debit) credit = (credit + 1) % ACCOUNTS;
  const toHot = hot && Math.random() < 0.8;
  return {
    id: `${run}_${n}`,
    debit_account_id: accountId(debit),
    credit_account_id: toHot ? HOT : accountId(credit),
    amount: 1 + Math.floor(Math.random() * 10_000),
    currency: 'USD',
    code: 2,
  };
}

interface Run {
  perS: number;
  latency: Latency;
  /** Transfers per database transaction: group commit at work (a batch shares one timestamp). */
  perTransaction: number;
}

/** Sends `tasks` create_transfers tasks (`size` transfers each), `window` in flight. */
async function load(
  app: TaskApp,
  run: string,
  tasks: number,
  size: number,
  window: number,
  hot: boolean,
): Promise<Run> {
  const samples: number[] = [];
  let failed = 0;
  const started = performance.now();
  await windowed(tasks, window, async (t) => {
    const transfers = Array.from({ length: size }, (_v, i) => transfer(run, t * size + i, hot));
    const t0 = performance.now();
    const handle = await app.client.send<CreateTransfersResult>(LEDGER_TASK.createTransfers, {
      transfers,
    });
    const { results } = await handle.result({ timeoutMs: 120_000 });
    samples.push(performance.now() - t0);
    failed += results.filter((r) => r !== 'ok').length;
  });
  const seconds = (performance.now() - started) / 1_000;
  if (failed > 0) throw new Error(`${run}: ${failed} transfers were refused`);
  const [{ transactions }] = await app.db.query<[{ transactions: number }]>(
    `SELECT count(DISTINCT created_at)::int AS transactions FROM ledger_transfers WHERE id LIKE $1`,
    [`${run}\\_%`],
  );
  return {
    perS: round((tasks * size) / seconds, 0),
    latency: latency(samples),
    perTransaction: round((tasks * size) / transactions, 0),
  };
}

/** Transfers of run `run` committed so far. */
async function committed(app: TaskApp, run: string): Promise<number> {
  const [{ n }] = await app.db.query<[{ n: number }]>(
    `SELECT count(*)::int AS n FROM ledger_transfers WHERE id LIKE $1`,
    [`${run}\\_%`],
  );
  return n;
}

/**
 * One transfer per task at the most the ledger takes, measured as bench:tasks measures
 * the task layer: sends with confirms, `window` in flight, until every transfer is
 * committed (read from the table: the producer waits on nothing else).
 */
async function singles(app: TaskApp, run: string, tasks: number): Promise<number> {
  const started = performance.now();
  await windowed(tasks, SINGLE_WINDOW, (t) =>
    app.client.send(LEDGER_TASK.createTransfers, { transfers: [transfer(run, t, false)] }),
  );
  while ((await committed(app, run)) < tasks) await sleep(20);
  return round(tasks / ((performance.now() - started) / 1_000), 0);
}

/** One transfer per task at a paced 1,000/s: send → committed → result to the caller. */
async function singlesPaced(app: TaskApp, run: string, tasks: number): Promise<Latency> {
  const samples = await paced(tasks, 1_000, async (t) => {
    const t0 = performance.now();
    const handle = await app.client.send<CreateTransfersResult>(LEDGER_TASK.createTransfers, {
      transfers: [transfer(run, t, false)],
    });
    await handle.result({ timeoutMs: 30_000 });
    return performance.now() - t0;
  });
  return latency(samples);
}

/** The same rows, inserted by a plain multi-row INSERT loop: one statement and commit each. */
async function pgRaw(infra: BenchInfra, count: number): Promise<number> {
  const client = new Client({ connectionString: infra.databaseUrl });
  await client.connect();
  await client.query(
    `CREATE TABLE bench_raw_transfers (LIKE ledger_transfers INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)`,
  );
  const started = performance.now();
  for (let done = 0; done < count; done += PER_TASK) {
    const rows = Array.from({ length: PER_TASK }, (_v, i) => transfer('raw', done + i, false));
    const values = rows.map(
      (_r, i) => `($${i * 4 + 1}, $${i * 4 + 2}, $${i * 4 + 3}, $${i * 4 + 4}, 'USD', 2, now())`,
    );
    await client.query(
      `INSERT INTO bench_raw_transfers (id, debit_account_id, credit_account_id, amount, currency, code, created_at)
       VALUES ${values.join(', ')}`,
      rows.flatMap((r) => [r.id, r.debit_account_id, r.credit_account_id, r.amount]),
    );
  }
  const seconds = (performance.now() - started) / 1_000;
  await client.query(`DROP TABLE bench_raw_transfers`);
  await client.end();
  return round(count / seconds, 0);
}

async function createBenchAccounts(app: TaskApp): Promise<void> {
  const ids = [...Array.from({ length: ACCOUNTS }, (_v, i) => accountId(i)), HOT];
  for (let start = 0; start < ids.length; start += PER_TASK) {
    const accounts = ids
      .slice(start, start + PER_TASK)
      .map((id) => ({ id, currency: 'USD', code: 400, owner: 'bench' }));
    const handle = await app.client.send(LEDGER_TASK.createAccounts, { accounts });
    await handle.result({ timeoutMs: 60_000 });
  }
}

async function main(): Promise<void> {
  const infra = await benchInfra('ledger');
  try {
    progress('raw broker');
    const broker = await rawAmqp(infra.amqpUrl, 20_000, 500);
    progress('raw postgresql inserts');
    const pgRawPerS = await pgRaw(infra, TRANSFERS);
    progress('starting the ledger service');
    const ledger = await startService(
      'ledger',
      LEDGER_PORT,
      {
        ...infra.env,
        LEDGER_PORT: String(LEDGER_PORT),
        TASK_PREFETCH: process.env['BENCH_LEDGER_PREFETCH'] ?? '3000',
      },
      profileArgs(),
    );
    // Sends as the gateway (a sender the ledger's money tasks accept) and consumes nothing.
    const app = await startTaskApp({
      infra: { ...infra, name: 'bench', destroy: () => Promise.resolve() },
      service: 'gateway',
      env: { TASK_LANES: 'none' },
    });
    try {
      await createBenchAccounts(app);
      progress(`(a) random: ${TRANSFERS} transfers in tasks of ${PER_TASK}`);
      const random = await load(app, 'a', TRANSFERS / PER_TASK, PER_TASK, BATCH_WINDOW, false);
      progress(`(b) hot: ${TRANSFERS} transfers, 80% to one account`);
      const hot = await load(app, 'b', TRANSFERS / PER_TASK, PER_TASK, BATCH_WINDOW, true);
      progress(`(c) single: ${SINGLE} tasks of one transfer`);
      const single = await singles(app, 'c', SINGLE);
      progress(`(d) ${PACED} tasks of one transfer at 1,000/s`);
      const pacedSingle = await singlesPaced(app, 'd', PACED);
      const check = await (
        await app.client.send<{ balanced: boolean; violations: string[] }>(LEDGER_TASK.check, {})
      ).result({ timeoutMs: 120_000 });
      const [{ n }] = await app.db.query<[{ n: number }]>(
        `SELECT count(*)::int AS n FROM ledger_transfers`,
      );
      const balanced = check.balanced && n === 2 * TRANSFERS + SINGLE + PACED;
      console.table({
        '(a) random, 1,000/task': {
          'transfers/s': random.perS,
          'task p50 ms': random.latency.p50Ms,
          'task p99 ms': random.latency.p99Ms,
          'transfers/tx': random.perTransaction,
        },
        '(b) 80% one account': {
          'transfers/s': hot.perS,
          'task p50 ms': hot.latency.p50Ms,
          'task p99 ms': hot.latency.p99Ms,
          'transfers/tx': hot.perTransaction,
        },
        '(c) one transfer/task': { 'transfers/s': single },
        '(d) one transfer/task @1k/s': {
          'task p50 ms': pacedSingle.p50Ms,
          'task p99 ms': pacedSingle.p99Ms,
        },
        'raw postgresql insert': { 'transfers/s': pgRawPerS },
        'raw broker': { 'transfers/s': broker.throughput.perS },
      });
      console.log(
        `(a) ${random.perS}/s (goal >= 10000), (b)/(a) ${(random.perS / hot.perS).toFixed(2)}x slower (goal <= 2), ` +
          `(c)/raw broker ${((100 * single) / broker.throughput.perS).toFixed(0)}% (goal >= 40%), ` +
          `(a)/raw postgresql ${((100 * random.perS) / pgRawPerS).toFixed(0)}%, ` +
          `${n} transfers stored, check ${check.balanced ? 'balanced' : check.violations.slice(0, 3).join('; ')}`,
      );
      console.log(
        JSON.stringify({
          bench: 'ledger',
          random_per_s: random.perS,
          hot_per_s: hot.perS,
          single_per_s: single,
          p99_ms: pacedSingle.p99Ms,
          pg_raw_per_s: pgRawPerS,
          raw_broker_per_s: broker.throughput.perS,
          balanced,
        }),
      );
    } finally {
      await app.close();
      await ledger.stop();
    }
  } finally {
    await infra.destroy();
  }
}

runBench(main);
