/**
 * `npm run bench:refunds`: refunds per second and latency through the whole refund path,
 * as a merchant sees it. The ledger, the gateway and the refund service run as their
 * own processes; BENCH_PAYMENTS captured payments are made first, then autocannon POSTs
 * /v1/refunds (a full refund of the next payment, a fresh Idempotency-Key each), each
 * request waiting for its outcome:
 * HTTP → refund row + reservation + outbox → refund service → ledger hold → sandbox
 * processor → ledger post → outcome task → gateway: refund succeeded + event → 200.
 * Then it waits until no refund is pending, checks every payment is refunded exactly
 * once and runs the ledger's check. Prints a table, then one line of JSON.
 * Options: BENCH_PAYMENTS (default 6000), BENCH_CONNECTIONS (50), BENCH_PROFILE_DIR
 * (a CPU profile of the refund service).
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { Client } from 'pg';
import { benchInfra } from './lib/bench-infra';
import {
  benchMerchant,
  drained,
  runBench,
  startPlatform,
  type BenchPlatform,
} from './lib/platform-bench';
import { round, windowed } from './lib/stats';

const PAYMENTS = Number(process.env['BENCH_PAYMENTS'] ?? 6_000);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 50);
const AMOUNT = 2_500;

function progress(step: string): void {
  process.stderr.write(`bench:refunds: ${step}…\n`);
}

async function capturedPayments(platform: BenchPlatform, key: string): Promise<string[]> {
  const ids: string[] = [];
  await windowed(PAYMENTS, 100, async () => {
    const payment = await platform.call<{ id: string; status: string }>(
      'POST',
      '/v1/payments',
      key,
      { amount: AMOUNT, currency: 'usd', source: 'tok_visa' },
    );
    if (payment.status !== 'succeeded') throw new Error(`payment ${payment.id} ${payment.status}`);
    ids.push(payment.id);
  });
  return ids;
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
    progress(`${PAYMENTS} captured payments`);
    const payments = await capturedPayments(platform, key);
    progress(`refunding each in full, ${CONNECTIONS} connections`);
    const result = await refundAll(platform, key, payments);
    await drained('refunds', async () => {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM refunds WHERE status = 'pending'`,
      );
      return rows[0]?.n ?? 0;
    });
    const ok = result.statusCodeStats?.['200']?.count ?? 0;
    const errors = result.errors + result.non2xx;
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
    const balanced = check.balanced && errors === 0 && (wrong[0]?.n ?? 1) === 0;
    const perS = round(ok / result.duration, 0);
    console.table({
      refunds: {
        'refunds/s': perS,
        'p50 ms': result.latency.p50,
        'p99 ms': result.latency.p99,
        'max ms': result.latency.max,
        '200': ok,
        errors,
      },
    });
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
