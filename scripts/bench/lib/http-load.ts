import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import type { BenchPlatform } from './platform-bench';
import { round } from './stats';

/** Seconds autocannon waits for one answer before it counts a timeout. */
const REQUEST_TIMEOUT_S = 30;

/** One autocannon run and its answers by kind. */
export interface HttpRun {
  label: string;
  result: autocannon.Result;
  ok: number;
  accepted: number;
  errors: number;
}

function httpRun(label: string, result: autocannon.Result): HttpRun {
  const count = (status: string): number =>
    result.statusCodeStats?.[status as `${number}`]?.count ?? 0;
  return {
    label,
    result,
    ok: count('200'),
    accepted: count('202'),
    errors: result.errors + result.non2xx,
  };
}

/** Answers of `200` per second of the run. */
export function okPerS(run: HttpRun): number {
  return round(run.ok / run.result.duration, 0);
}

/**
 * autocannon's options for POSTing `/v1/payments` (tok_visa, automatic capture, a fresh
 * Idempotency-Key per request), each request waiting for its payment's outcome.
 */
export function paymentRequests(
  platform: BenchPlatform,
  key: string,
  amount: number,
): autocannon.Options {
  return {
    url: platform.url('/v1/payments'),
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ amount, currency: 'usd', source: 'tok_visa' }),
    requests: [
      {
        setupRequest: (request) => ({
          ...request,
          headers: { ...request.headers, 'idempotency-key': randomUUID() },
        }),
      },
    ],
    timeout: REQUEST_TIMEOUT_S,
  };
}

/**
 * Payments as `paymentRequests` sends them. Shared by bench:payments and by bench:refunds,
 * which measures payments the same way as its refunds to compare them.
 */
export async function loadPayments(
  platform: BenchPlatform,
  label: string,
  key: string,
  amount: number,
  options: Omit<autocannon.Options, 'url'>,
): Promise<HttpRun> {
  const result = await autocannon({ ...paymentRequests(platform, key, amount), ...options });
  return httpRun(label, result);
}

/**
 * The gateway's bare HTTP ceiling: `GET /health/live` (no auth, no database, no broker)
 * as fast as `connections` go, so figures of different machines can be compared.
 */
export async function loadHealth(
  platform: BenchPlatform,
  label: string,
  options: Omit<autocannon.Options, 'url'>,
): Promise<HttpRun> {
  const result = await autocannon({
    url: platform.url('/health/live'),
    method: 'GET',
    timeout: REQUEST_TIMEOUT_S,
    ...options,
  });
  return httpRun(label, result);
}
