/**
 * `npm run bench:settlement`: a settlement run and a reconciliation at a million payments,
 * and what they do to real-time payments. The ledger, the gateway, the refund service and
 * the settlement service run as their own processes; the settlement's RSS (and that of
 * any process it starts) is sampled from /proc every 200 ms for the whole bench.
 *   (0) seed, outside the timing: BENCH_SETTLEMENT_MERCHANTS (1,000) merchants through
 *       the admin API, then BENCH_SETTLEMENT_PAYMENTS (1,000,000) captured payments of
 *       yesterday (UTC) spread over them, with the ledger transfers the gateway writes,
 *       set-based in SQL; the ledger's check must say balanced before anything is timed;
 *   (1) idle: payments at BENCH_RATE (100)/s for BENCH_PACED_S (15) s, nothing else running;
 *   (2) a settlement run (`POST /v1/admin/settlement_runs {}`, polled to its end) while
 *       the same payment load runs: `settle_s`, and the p99 of the payments sent while
 *       the run ran; then, untimed, until the run's payouts are paid (seconds after the
 *       run, in the table);
 *   (3) the sandbox's settlement file of the seeded day, with discrepancies injected,
 *       posted to `POST /v1/admin/reconciliations`: `reconcile_s`, and its counts against
 *       the injected ones;
 *   (4) the ledger's check, every seeded payment settled exactly once.
 * Prints a table, then one line of JSON.
 */
import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { benchInfra } from './lib/bench-infra';
import {
  benchMerchant,
  drained,
  runBench,
  startPlatform,
  type BenchPlatform,
} from './lib/platform-bench';
import { sampleRss } from './lib/rss-sampler';
import {
  downloadSettlementFile,
  injectDiscrepancies,
  postReconciliation,
  type Injected,
  type Reconciliation,
} from './lib/settlement-file';
import { seedMerchants, seedPayments, yesterdayUtc, type SeededDay } from './lib/settlement-seed';
import { round, sleep } from './lib/stats';
import { loadFigures, startTimedLoad, type LoadFigures } from './lib/timed-load';

const PAYMENTS = Number(process.env['BENCH_SETTLEMENT_PAYMENTS'] ?? 1_000_000);
const MERCHANTS = Number(process.env['BENCH_SETTLEMENT_MERCHANTS'] ?? 1_000);
const RATE = Number(process.env['BENCH_RATE'] ?? 100);
const PACED_S = Number(process.env['BENCH_PACED_S'] ?? 15);
/** Seconds of the idle load left out of its figures (warm-up). */
const WARM_UP_S = 5;
/** A run that has not ended by then is reported as not finished. */
const RUN_TIMEOUT_MS = 600_000;
/** How often the run's status is read: the resolution of `settle_s`. */
const RUN_POLL_MS = 100;
const AMOUNT = 1_999;

function progress(step: string): void {
  process.stderr.write(`bench:settlement: ${step}…\n`);
}

interface SettlementRun {
  id: string;
  status: 'running' | 'completed' | 'partially_failed';
  merchants: number;
}

interface LedgerCheck {
  balanced: boolean;
  violations: string[];
}

const ledgerCheck = (platform: BenchPlatform): Promise<LedgerCheck> =>
  platform.call<LedgerCheck>('GET', '/v1/admin/ledger/check', platform.adminKey);

/** Waits until no payment is in flight. */
function paymentsDrained(db: Client): Promise<void> {
  return drained('payments', async () => {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM payments WHERE status IN ('processing', 'capturing')`,
    );
    return rows[0]?.n ?? 0;
  });
}

/**
 * Waits, outside the timing, until the run's payouts have left `pending` (paid by the
 * sandbox rail: each a ledger hold, the rail, the posting and an event), and says how
 * long after the run's end that took: they queue behind the run's merchants, so without
 * the wait their tail would run during (and be timed as) the reconciliation.
 */
async function payoutsPaid(db: Client, runEndedAt: number): Promise<number> {
  await drained(
    'payouts',
    async () => {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM payouts WHERE status = 'pending'`,
      );
      return rows[0]?.n ?? 0;
    },
    RUN_TIMEOUT_MS,
  );
  return round((performance.now() - runEndedAt) / 1_000, 2);
}

/** (1) The real-time baseline: the paced load for PACED_S with nothing else running. */
async function idleLoad(platform: BenchPlatform, db: Client, key: string): Promise<LoadFigures> {
  progress(`(1) payments at ${RATE}/s for ${PACED_S} s, nothing else running`);
  const load = startTimedLoad(platform, key, AMOUNT, RATE);
  // The first seconds warm up (connections opened, code compiled, caches filled): only
  // the steady state after them is the baseline, as during the run.
  await sleep(WARM_UP_S * 1_000);
  const from = performance.now();
  await sleep(PACED_S * 1_000);
  const figures = loadFigures(await load.stop(), from);
  await paymentsDrained(db);
  progress(`(1) idle: p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms of ${figures.ok} answered`);
  return figures;
}

/**
 * `POST /v1/admin/settlement_runs` with `cut_off` (now): the gateway waits for the run to
 * start for SETTLEMENT_RUN_WAIT_MS and answers 503 past it while the start goes on, so a
 * 503 is asked again with the same cut-off (200 with the same run, nothing moves twice).
 */
async function startRun(platform: BenchPlatform, cutOff: number): Promise<SettlementRun> {
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  for (;;) {
    const response = await fetch(platform.url('/v1/admin/settlement_runs'), {
      method: 'POST',
      headers: {
        authorization: `Bearer ${platform.adminKey}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ cut_off: cutOff }),
      signal: AbortSignal.timeout(RUN_TIMEOUT_MS),
    });
    if (response.status === 200 || response.status === 201) {
      return (await response.json()) as SettlementRun;
    }
    const text = await response.text();
    if (response.status !== 503 || Date.now() > deadline) {
      throw new Error(`POST /v1/admin/settlement_runs: ${response.status} ${text}`);
    }
    progress(`(2) the run has not started yet (503), asking again`);
    await sleep(1_000);
  }
}

/**
 * (2) A settlement run timed from its POST until its status is no longer `running`, with
 * the paced load running all along: started before the POST (so the rate is steady when
 * the run starts) and stopped once the run has ended and PACED_S have passed (so a short
 * run still has a full window around it). `during` is the latency of the requests SENT
 * while the run ran, however long that was; `window` that of the whole load.
 */
async function timedRun(
  platform: BenchPlatform,
  db: Client,
  key: string,
): Promise<{
  run: SettlementRun;
  settleS: number;
  endedAt: number;
  during: LoadFigures;
  window: LoadFigures;
}> {
  progress(`(2) a settlement run, with payments at ${RATE}/s`);
  const load = startTimedLoad(platform, key, AMOUNT, RATE);
  const loadStarted = performance.now();
  await sleep(1_000);
  const started = performance.now();
  let run: SettlementRun;
  try {
    run = await pollRun(
      platform,
      await startRun(platform, Math.floor(Date.now() / 1_000)),
      started,
    );
  } catch (error) {
    // The load stops first, or the services' stop would wait on requests that never end.
    await load.stop();
    throw error;
  }
  const ended = performance.now();
  const rest = PACED_S * 1_000 - (ended - loadStarted);
  if (rest > 0) await sleep(rest);
  const answers = await load.stop();
  await paymentsDrained(db);
  return {
    run,
    settleS: round((ended - started) / 1_000, 2),
    endedAt: ended,
    during: loadFigures(answers, started, ended),
    window: loadFigures(answers),
  };
}

/**
 * Reads the run every RUN_POLL_MS until it is no longer `running`. A read that fails (the
 * gateway answers 503 when it cannot serve in time, as under this load it may) is read
 * again: only the deadline ends the wait.
 */
async function pollRun(
  platform: BenchPlatform,
  first: SettlementRun,
  started: number,
): Promise<SettlementRun> {
  let run = first;
  let failures = 0;
  while (run.status === 'running') {
    if (performance.now() - started > RUN_TIMEOUT_MS) {
      throw new Error(`settlement run ${run.id} still running after ${RUN_TIMEOUT_MS} ms`);
    }
    await sleep(RUN_POLL_MS);
    try {
      run = await platform.call<SettlementRun>(
        'GET',
        `/v1/admin/settlement_runs/${run.id}`,
        platform.adminKey,
      );
    } catch (error) {
      failures += 1;
      if (failures === 1 || failures % 50 === 0) {
        progress(`(2) reading the run failed (${failures}): ${String(error)}; reading it again`);
      }
    }
  }
  return run;
}

/** (3) The sandbox's file of the seeded day, with discrepancies, reconciled; timed. */
async function timedReconciliation(
  platform: BenchPlatform,
  day: SeededDay,
  dir: string,
): Promise<{ reconcileS: number; injected: Injected; answer: Reconciliation }> {
  progress(`(3) the sandbox's settlement file of ${day.date}`);
  const original = join(dir, 'sandbox.csv');
  const posted = join(dir, 'posted.csv');
  await downloadSettlementFile(platform, day.date, original);
  const injected = await injectDiscrepancies(original, posted);
  progress(`(3) reconciling ${injected.lines} lines`);
  const started = performance.now();
  const { status, body } = await postReconciliation(platform, posted);
  const reconcileS = round((performance.now() - started) / 1_000, 2);
  if (status !== 201)
    throw new Error(`the reconciliation answered ${status}, not 201 (a new file)`);
  return { reconcileS, injected, answer: body };
}

/** Counts the reconciliation reported that differ from those injected, as `kind: got != want`. */
function countsDiffer(injected: Injected, answer: Reconciliation): string[] {
  const kinds = [
    'matched',
    'missing_in_ours',
    'missing_in_file',
    'amount_mismatch',
    'currency_mismatch',
    'duplicate_in_file',
  ] as const;
  return kinds
    .filter((kind) => answer.counts[kind] !== injected[kind])
    .map((kind) => `${kind}: ${answer.counts[kind]} != ${injected[kind]}`);
}

/** Seeded payments settled: items of the seeded payments in settlements, and distinct ones. */
async function seededSettled(db: Client): Promise<{ items: number; payments: number }> {
  const { rows } = await db.query<{ items: number; payments: number }>(
    `SELECT count(*)::int AS items, count(DISTINCT object_id)::int AS payments
       FROM settlement_items WHERE kind = 'payment' AND object_id LIKE 'pay\\_bench%'`,
  );
  return { items: rows[0]?.items ?? 0, payments: rows[0]?.payments ?? 0 };
}

async function seed(platform: BenchPlatform, db: Client): Promise<SeededDay> {
  progress(`(0) creating ${MERCHANTS} merchants`);
  const merchants = await seedMerchants(platform, db, MERCHANTS);
  const started = performance.now();
  const day = await seedPayments(db, merchants, PAYMENTS, yesterdayUtc(), progress);
  progress(
    `(0) seeded in ${round((performance.now() - started) / 1_000, 1)} s; the ledger's check`,
  );
  const check = await ledgerCheck(platform);
  if (!check.balanced) {
    throw new Error(
      `the seeded ledger is not balanced: ${check.violations.slice(0, 5).join('; ')}`,
    );
  }
  return day;
}

async function measure(platform: BenchPlatform, db: Client, dir: string): Promise<void> {
  const rss = sampleRss(() =>
    platform.pids.settlement === undefined ? [] : [platform.pids.settlement],
  );
  const day = await seed(platform, db);
  const key = await benchMerchant(platform);
  const idle = await idleLoad(platform, db, key);
  const { run, settleS, endedAt, during, window } = await timedRun(platform, db, key);
  progress(`(2) waiting for the run's payouts to be paid`);
  const payoutsS = await payoutsPaid(db, endedAt);
  const { reconcileS, injected, answer } = await timedReconciliation(platform, day, dir);
  progress('(4) the ledger check');
  const check = await ledgerCheck(platform);
  const settled = await seededSettled(db);
  const rssMbMax = round(rss.stop(), 1);
  const differ = countsDiffer(injected, answer);
  const balanced =
    check.balanced &&
    run.status === 'completed' &&
    settled.items === PAYMENTS &&
    settled.payments === PAYMENTS;
  report({
    day,
    idle,
    during,
    window,
    run,
    settleS,
    payoutsS,
    reconcileS,
    rssMbMax,
    injected,
    answer,
  });
  if (differ.length > 0)
    console.log(`WARN reconciliation counts differ from the injected: ${differ.join('; ')}`);
  console.log(
    `seeded payments settled: ${settled.payments} of ${PAYMENTS} (items ${settled.items}); ` +
      `ledger check ${check.balanced ? 'balanced' : check.violations.slice(0, 3).join('; ')}`,
  );
  console.log(
    JSON.stringify({
      bench: 'settlement',
      payments: PAYMENTS,
      settle_s: settleS,
      reconcile_s: reconcileS,
      rss_mb_max: rssMbMax,
      payments_p99_ms_idle: idle.p99Ms,
      payments_p99_ms_during: during.p99Ms,
      balanced,
    }),
  );
}

interface Report {
  day: SeededDay;
  idle: LoadFigures;
  during: LoadFigures;
  window: LoadFigures;
  run: SettlementRun;
  settleS: number;
  payoutsS: number;
  reconcileS: number;
  rssMbMax: number;
  injected: Injected;
  answer: Reconciliation;
}

function report(r: Report): void {
  console.log(
    `seeded ${r.day.payments} payments of ${r.day.date} across ${r.day.merchants.length} merchants`,
  );
  console.table({
    [`payments at ${RATE}/s, idle`]: { ...r.idle },
    [`payments at ${RATE}/s, sent during the run`]: { ...r.during },
    [`payments at ${RATE}/s, the run's whole load window`]: { ...r.window },
  });
  console.table({
    [`settlement run ${r.run.id}`]: {
      seconds: r.settleS,
      status: r.run.status,
      merchants: r.run.merchants,
      'settlement RSS max MB': r.rssMbMax,
      'payouts paid, s after': r.payoutsS,
    },
    [`reconciliation ${r.answer.id}`]: { seconds: r.reconcileS, lines: r.answer.lines },
  });
  const { original: _original, lines: _lines, ...want } = r.injected;
  console.table({ injected: want, reported: r.answer.counts });
}

async function main(): Promise<void> {
  const infra = await benchInfra('settlement');
  const db = new Client({ connectionString: infra.databaseUrl });
  const dir = await mkdtemp(join(tmpdir(), 'clearline-bench-settlement-'));
  progress('starting the ledger, the gateway, the refund service and the settlement service');
  const platform = await startPlatform(infra, ['ledger', 'gateway', 'refund', 'settlement']);
  try {
    await db.connect();
    await measure(platform, db, dir);
  } finally {
    await db.end().catch(() => undefined);
    await platform.stop();
    await infra.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

runBench(main);
