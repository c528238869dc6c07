import { randomBytes } from 'node:crypto';
import { dailySettlementAwayFromNow, startService, type ServiceProcess } from '@clearline/testing';
import type { BenchInfra } from './bench-infra';
import { sleep } from './stats';

/** Where the benchmarks run the services (ports of their own, beside a dev `npm start`). */
export const BENCH_PORTS = {
  gateway: 3_910,
  ledger: 3_911,
  refund: 3_912,
  settlement: 3_913,
} as const;
export type BenchService = keyof typeof BENCH_PORTS;

/** The longest a JSON call waits for its answer (the ledger's check reads the whole ledger). */
const CALL_TIMEOUT_MS = 120_000;

/** BENCH_PROFILE_DIR=<dir> writes a V8 CPU profile of the profiled service there. */
export function profileArgs(): string[] {
  const dir = process.env['BENCH_PROFILE_DIR'];
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

export interface BenchPlatform {
  adminKey: string;
  /** The process id of each running service (bench:settlement samples the settlement's RSS). */
  pids: Partial<Record<BenchService, number>>;
  url(path: string): string;
  /** A JSON call to the gateway; throws on a non-2xx answer. */
  call<T>(method: string, path: string, key: string, body?: unknown): Promise<T>;
  stop(): Promise<void>;
}

/**
 * Runs services as their own processes on the benchmark's vhost and database, as in
 * production; the gateway (if started) without rate limits, `profiled` under a profiler.
 */
export async function startPlatform(
  infra: BenchInfra,
  services: readonly BenchService[],
  profiled: BenchService = 'gateway',
): Promise<BenchPlatform> {
  const adminKey = `sk_admin_bench_${randomBytes(12).toString('hex')}`;
  const running: ServiceProcess[] = [];
  const env: Record<BenchService, Record<string, string>> = {
    ledger: { TASK_PREFETCH: '3000' },
    gateway: {
      ADMIN_API_KEY: adminKey,
      RATE_LIMIT_PER_S: '1000000',
      // Production (NODE_ENV=production) requires a key for the secrets kept for replays.
      SECRETS_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    },
    refund: { PAYMENT_PROCESSOR: 'sandbox' },
    // The bench starts its own run: none by the clock during it.
    settlement: dailySettlementAwayFromNow(),
  };
  const pids: Partial<Record<BenchService, number>> = {};
  try {
    for (const service of services) {
      const port = BENCH_PORTS[service];
      const started = await startService(
        service,
        port,
        { ...infra.env, [`${service.toUpperCase()}_PORT`]: String(port), ...env[service] },
        service === profiled ? profileArgs() : [],
      );
      running.push(started);
      if (started.child.pid !== undefined) pids[service] = started.child.pid;
    }
  } catch (error) {
    for (const process of running.reverse()) await process.stop();
    throw error;
  }
  const url = (path: string): string => `http://127.0.0.1:${BENCH_PORTS.gateway}${path}`;
  return {
    adminKey,
    pids,
    url,
    call: async <T>(method: string, path: string, key: string, body?: unknown): Promise<T> => {
      const response = await fetch(url(path), {
        method,
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (!response.ok) {
        throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
      }
      return (await response.json()) as T;
    },
    stop: async () => {
      for (const process of running.reverse()) await process.stop();
    },
  };
}

/** A merchant whose ledger accounts are open (a first payment succeeded); its API key. */
export async function benchMerchant(platform: BenchPlatform): Promise<string> {
  const { api_key: key } = await platform.call<{ api_key: string }>(
    'POST',
    '/v1/admin/merchants',
    platform.adminKey,
    { name: 'bench' },
  );
  for (let i = 0; i < 100; i += 1) {
    const response = await fetch(platform.url('/v1/payments'), {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 100, currency: 'usd', source: 'tok_visa' }),
    });
    if (response.status === 200) return key;
    await sleep(100);
  }
  throw new Error('the warm-up payment never succeeded');
}

/** Polls `count` until it is 0 (nothing in flight), within `timeoutMs`. */
export async function drained(
  what: string,
  count: () => Promise<number>,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await count();
    if (left === 0) return;
    if (Date.now() > deadline) throw new Error(`${left} ${what} still in flight`);
    await sleep(200);
  }
}

/** Runs a benchmark's main and exits: 0 when it finished, 1 (with the error) when not. */
export function runBench(main: () => Promise<void>): void {
  main()
    .then(() => process.exit(0))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
