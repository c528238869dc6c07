/**
 * `npm run bench:payments`: payments per second and latency through the whole pipeline,
 * as a merchant sees it. The ledger and the gateway run as their own processes (as in
 * production); autocannon POSTs /v1/payments (tok_visa, automatic capture, a fresh
 * Idempotency-Key per request), each request waiting for its payment's outcome:
 * HTTP → payment row + outbox task → the request authorizes in place (the task kept as
 * its fallback) → sandbox processor → ledger task (pending transfer + post) → payment
 * succeeded + event + task result, one statement → 200.
 *   (0) the gateway's bare HTTP ceiling in the same run: `GET /health/live` as fast as
 *       BENCH_CONNECTIONS connections go, for BENCH_CEILING_S (default BENCH_DURATION_S),
 *       so that figures of different machines can be compared;
 *   (1) throughput: as fast as BENCH_CONNECTIONS connections go, for BENCH_DURATION_S;
 *   (2) latency: paced at BENCH_RATE requests/s (500) for BENCH_PACED_S, spread evenly over
 *       each second (staggered autocannon instances; see `paced`);
 *   (3) latency: paced at BENCH_LOW_RATE (100), a rate this machine sustains.
 * Then it waits until no payment is in flight, checks that every answered payment
 * succeeded with exactly its two ledger transfers, and runs the ledger's check.
 * Prints a table, then one line of JSON. BENCH_PROFILE_DIR=<dir> writes a V8 CPU profile
 * of the gateway process there.
 */
import 'reflect-metadata';
import { Client } from 'pg';
import { benchInfra } from './lib/bench-infra';
import { loadHealth, loadPayments, okPerS, type HttpRun } from './lib/http-load';
import {
  benchMerchant,
  drained,
  runBench,
  startPlatform,
  type BenchPlatform,
} from './lib/platform-bench';
import { round, sleep } from './lib/stats';
import { loadFigures, startTimedLoad } from './lib/timed-load';

const DURATION_S = Number(process.env['BENCH_DURATION_S'] ?? 20);
/**
 * A payment is a chain of durable steps (key claim, creation, relay, authorize, ledger
 * batch, settlement, stored answer): ~50 ms end to end when idle, ~100 ms under load.
 * By Little's law 64 connections cap the run near 64 / 0.1 s whatever the machine has
 * left (it left ~40% of the CPU idle), so the throughput run measures capacity with
 * enough requests in flight to use the machine: 256.
 */
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 256);
const PACED_S = Number(process.env['BENCH_PACED_S'] ?? 15);
/** Seconds a paced run warms up before its latency counts. */
const PACED_WARM_UP_S = 3;
const RATE = Number(process.env['BENCH_RATE'] ?? 500);
/** A rate this machine sustains, for the latency of an unsaturated pipeline. */
const LOW_RATE = Number(process.env['BENCH_LOW_RATE'] ?? 100);
/** The bare HTTP ceiling runs this long, with BENCH_CONNECTIONS connections. */
const CEILING_S = Number(process.env['BENCH_CEILING_S'] ?? DURATION_S);
const AMOUNT = 1_999;

function progress(step: string): void {
  process.stderr.write(`bench:payments: ${step}…\n`);
}

/** Waits until no payment is in flight; returns the counts by status. */
async function settle(db: Client): Promise<Record<string, number>> {
  const counts = async (): Promise<Record<string, number>> => {
    const { rows } = await db.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM payments GROUP BY status`,
    );
    return Object.fromEntries(rows.map((row) => [row.status, row.n]));
  };
  // Requests autocannon cut off at the end of a run may still be creating their payments
  // (their group commit is queued): settled means none in flight AND no new payment since
  // the last look, so a payment created after the check cannot be counted as stuck.
  let totalBefore = -1;
  await drained('payments', async () => {
    const now = await counts();
    const total = Object.values(now).reduce((sum, n) => sum + n, 0);
    const arrived = total === totalBefore ? 0 : 1;
    totalBefore = total;
    return (now['processing'] ?? 0) + (now['capturing'] ?? 0) + arrived;
  });
  return counts();
}

function row(run: HttpRun): Record<string, number> {
  return {
    'payments/s': okPerS(run),
    'sent/s': round(run.result.requests.sent / run.result.duration, 0),
    'p50 ms': run.result.latency.p50,
    'p99 ms': run.result.latency.p99,
    'max ms': run.result.latency.max,
    '200': run.ok,
    '202': run.accepted,
    errors: run.errors,
  };
}

/** Every payment settled and succeeded, each with exactly its two ledger transfers, and the ledger balanced. */
async function verify(
  platform: BenchPlatform,
  db: Client,
  answered: number,
): Promise<{ balanced: boolean; summary: string }> {
  const counts = await settle(db);
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ledger_transfers WHERE id LIKE 'pay\\_%'`,
  );
  const transfers = rows[0]?.n ?? 0;
  const check = await platform.call<{ balanced: boolean; violations: string[] }>(
    'GET',
    '/v1/admin/ledger/check',
    platform.adminKey,
  );
  const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
  const succeeded = counts['succeeded'] ?? 0;
  // Requests still in flight when a run ends are cut off by autocannon, not by the
  // gateway: their payments complete all the same, so there may be more than answered.
  const balanced =
    check.balanced && succeeded === total && succeeded >= answered && transfers === 2 * succeeded;
  const summary =
    `payments by status ${JSON.stringify(counts)}; answered 2xx ${answered}; ` +
    `ledger transfers ${transfers}; ledger check ${check.balanced ? 'balanced' : check.violations.slice(0, 3).join('; ')}`;
  return { balanced, summary };
}

/** The same gateway, same connections, answering only `GET /health/live`. */
async function ceiling(platform: BenchPlatform): Promise<HttpRun> {
  const label = `(0) HTTP ceiling: GET /health/live, ${CONNECTIONS} connections for ${CEILING_S} s`;
  progress(label);
  return loadHealth(platform, label, { connections: CONNECTIONS, duration: CEILING_S });
}

/** A paced run: its answers, the row it prints, its p99. */
interface PacedRun {
  label: string;
  answered: number;
  errors: number;
  p99Ms: number;
  row: Record<string, number>;
}

/**
 * Payments at `rate` for PACED_S, spread evenly over each second (startTimedLoad: with
 * autocannon's own pacing, each second's requests leave in one burst at its start, and
 * the p99 measures that burst's queue rather than the latency at the rate).
 */
async function paced(
  platform: BenchPlatform,
  key: string,
  rate: number,
  label: string,
): Promise<PacedRun> {
  progress(label);
  const load = startTimedLoad(platform, key, AMOUNT, rate);
  // Its first seconds open the connections and fill the pipeline: only the steady state
  // after them is measured.
  await sleep(PACED_WARM_UP_S * 1_000);
  const from = performance.now();
  await sleep(PACED_S * 1_000);
  const answers = await load.stop();
  const figures = loadFigures(answers, from);
  const accepted = answers.filter((answer) => answer.status === 202).length;
  const ok = answers.filter((answer) => answer.status === 200).length;
  const errors = load.errors() + answers.length - ok - accepted;
  return {
    label,
    answered: ok + accepted,
    errors,
    p99Ms: figures.p99Ms,
    row: {
      'payments/s': round(ok / (PACED_WARM_UP_S + PACED_S), 0),
      'sent/s': round(answers.length / (PACED_WARM_UP_S + PACED_S), 0),
      'p50 ms': figures.p50Ms,
      'p99 ms': figures.p99Ms,
      'max ms': figures.maxMs,
      '200': ok,
      '202': accepted,
      errors,
    },
  };
}

async function measure(platform: BenchPlatform, db: Client): Promise<void> {
  const key = await benchMerchant(platform);
  const bare = await ceiling(platform);
  const load = (label: string, options: Parameters<typeof loadPayments>[4]): Promise<HttpRun> => {
    progress(label);
    return loadPayments(platform, label, key, AMOUNT, options);
  };
  const max = await load(`(1) throughput: ${CONNECTIONS} connections for ${DURATION_S} s`, {
    connections: CONNECTIONS,
    duration: DURATION_S,
  });
  await settle(db);
  const at500 = await paced(platform, key, RATE, `(2) paced at ${RATE}/s for ${PACED_S} s`);
  await settle(db);
  const atLow = await paced(platform, key, LOW_RATE, `(3) paced at ${LOW_RATE}/s for ${PACED_S} s`);
  progress('waiting for every payment to settle');
  const answered =
    1 + max.ok + max.accepted + [at500, atLow].reduce((sum, run) => sum + run.answered, 0);
  const { balanced, summary } = await verify(platform, db, answered);
  console.table({
    [bare.label]: {
      'requests/s': okPerS(bare),
      'p50 ms': bare.result.latency.p50,
      'p99 ms': bare.result.latency.p99,
      errors: bare.errors,
    },
  });
  console.table({
    [max.label]: row(max),
    [at500.label]: at500.row,
    [atLow.label]: atLow.row,
  });
  console.log(summary);
  console.log(
    `payments/ceiling ${((100 * okPerS(max)) / okPerS(bare)).toFixed(0)}% ` +
      `(a payment's cost in bare requests: ${(okPerS(bare) / okPerS(max)).toFixed(1)})`,
  );
  console.log(
    JSON.stringify({
      bench: 'payments',
      payments_per_s: okPerS(max),
      p50_ms: max.result.latency.p50,
      p99_ms: max.result.latency.p99,
      p99_ms_at_500: at500.p99Ms,
      http_ceiling_per_s: okPerS(bare),
      errors: max.errors + at500.errors + atLow.errors,
      balanced,
    }),
  );
}

async function main(): Promise<void> {
  const infra = await benchInfra('payments');
  const db = new Client({ connectionString: infra.databaseUrl });
  progress('starting the ledger and the gateway');
  const platform = await startPlatform(infra, ['ledger', 'gateway']);
  try {
    await db.connect();
    await measure(platform, db);
  } finally {
    await db.end().catch(() => undefined);
    await platform.stop();
    await infra.destroy();
  }
}

runBench(main);
