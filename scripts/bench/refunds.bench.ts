/**
 * `npm run bench:refunds`: refunds per second and latency through the whole refund path,
 * as a merchant sees it. The ledger, the gateway and the refund service run as their
 * own processes. First BENCH_PAYMENTS payments (captured) are made by autocannon with the
 * same connections, measured like the refunds (`payments_per_s`, to compare refunds/s
 * with payments/s of the same run); then autocannon POSTs /v1/refunds (a full refund of
 * the next payment, a fresh Idempotency-Key each), each request waiting for its outcome:
 * HTTP → refund row + reservation + outbox → refund service → ledger hold → sandbox
 * processor → ledger post → outcome task → gateway: refund succeeded + event → 200.
 * Then it waits until no refund is pending, checks every payment is refunded exactly
 * once and runs the ledger's check. Prints a table, then one line of JSON (`errors`
 * counts the failed requests of both runs).
 * Options: BENCH_PAYMENTS (default 6000), BENCH_CONNECTIONS (50), BENCH_PROFILE_DIR
 * (a CPU profile of the refund service).
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { Client } from 'pg';
import { benchInfra } from './lib/bench-infra';
import { loadPayments, okPerS, type HttpRun } from './lib/http-load';
import {
  benchMerchant,
  drained,
  runBench,
  startPlatform,
  type BenchPlatform,
} from './lib/platform-bench';
import { round } from './lib/stats';

const PAYMENTS = Number(process.env['BENCH_PAYMENTS'] ?? 6_000);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 50);
const AMOUNT = 2_500;

function progress(step: string): void {
  process.stderr.write(`bench:refunds: ${step}…\n`);
}

/**
 * The payments to refund, made by a measured run: BENCH_PAYMENTS payments through
 * autocannon with the refunds' connections, on the same platform, so that payments/s and
 * refunds/s of one run compare like with like.
 */
async function measuredPayments(
  platform: BenchPlatform,
  db: Client,
  key: string,
): Promise<{ run: HttpRun; ids: string[] }> {
  const label = `payments: ${PAYMENTS}, ${CONNECTIONS} connections`;
  progress(label);
  const run = await loadPayments(platform, label, key, AMOUNT, {
    connections: CONNECTIONS,
    amount: PAYMENTS,
  });
  await drained('payments', async () => {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM payments WHERE status IN ('processing', 'capturing')`,
    );
    return rows[0]?.n ?? 0;
  });
  // The warm-up payment has another amount; a request autocannon cut off still made its payment.
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM payments WHERE status = 'succeeded' AND amount = $1 ORDER BY created_at`,
    [AMOUNT],
  );
  return { run, ids: rows.map((row) => row.id) };
}

async function refundAll(
  platform: BenchPlatform,
  key: string,
  payments: readonly string[],
): Promise<autocannon.Result> {
  let next = 0;
  return autocannon({
    url: platform.url('/v1/refunds'),
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    connections: CONNECTIONS,
    amount: payments.length,
    timeout: 30,
    requests: [
      {
        setupRequest: (request) => {
          const payment = payments[next % payments.length];
          next += 1;
          return {
            ...request,
            headers: { ...request.headers, 'idempotency-key': randomUUID() },
            body: JSON.stringify({ payment, reason: 'requested_by_customer' }),
          };
        },
      },
    ],
  });
}

async function main(): Promise<void> {
  const infra = await benchInfra('refunds');
  const db = new Client({ connectionString: infra.databaseUrl });
  progress('starting the ledger, the gateway and the refund service');
  const platform = await startPlatform(infra, ['ledger', 'gateway', 'refund'], 'refund');
  try {
    await db.connect();
    const key = await benchMerchant(platform);
    const { run: paymentRun, ids: payments } = await measuredPayments(platform, db, key);
    progress(`refunding each in full, ${CONNECTIONS} connections`);
    const result = await refundAll(platform, key, payments);
    await drained('refunds', async () => {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM refunds WHERE status = 'pending'`,
      );
      return rows[0]?.n ?? 0;
    });
    const ok = result.statusCodeStats?.['200']?.count ?? 0;
    const errors = result.errors + result.non2xx + paymentRun.errors;
    const { rows: byStatus } = await db.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM refunds GROUP BY status`,
    );
    const { rows: wrong } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM payments
        WHERE id = ANY($1::text[]) AND (amount_refunded <> amount OR amount_refund_reserved <> 0)`,
      [payments],
    );
    const check = await platform.call<{ balanced: boolean; violations: string[] }>(
      'GET',
      '/v1/admin/ledger/check',
      platform.adminKey,
    );
    const balanced =
      check.balanced && errors === 0 && payments.length === PAYMENTS && (wrong[0]?.n ?? 1) === 0;
    const perS = round(ok / result.duration, 0);
    const paymentsPerS = okPerS(paymentRun);
    console.table({
      payments: {
        'per s': paymentsPerS,
        'p50 ms': paymentRun.result.latency.p50,
        'p99 ms': paymentRun.result.latency.p99,
        'max ms': paymentRun.result.latency.max,
        '200': paymentRun.ok,
        errors: paymentRun.errors,
      },
      refunds: {
        'per s': perS,
        'p50 ms': result.latency.p50,
        'p99 ms': result.latency.p99,
        'max ms': result.latency.max,
        '200': ok,
        errors: errors - paymentRun.errors,
      },
    });
    console.log(
      `refunds/payments ${(perS / paymentsPerS).toFixed(2)} (goal >= 0.5, measured the same way)`,
    );
    console.log(
      `refunds by status ${JSON.stringify(Object.fromEntries(byStatus.map((r) => [r.status, r.n])))}; ` +
        `payments not refunded exactly once: ${wrong[0]?.n ?? '?'}; ` +
        `ledger check ${check.balanced ? 'balanced' : check.violations.slice(0, 3).join('; ')}`,
    );
    console.log(
      JSON.stringify({
        bench: 'refunds',
        refunds_per_s: perS,
        p99_ms: result.latency.p99,
        payments_per_s: paymentsPerS,
        payments_p99_ms: paymentRun.result.latency.p99,
        errors,
        balanced,
      }),
    );
  } finally {
    await db.end().catch(() => undefined);
    await platform.stop();
    await infra.destroy();
  }
}

runBench(main);
