import autocannon from 'autocannon';
import { paymentRequests } from './http-load';
import type { BenchPlatform } from './platform-bench';
import { percentile, round } from './stats';

/** A paced run never lasts longer than this, whatever it waits for. */
const LOAD_DURATION_MAX_S = 900;

/** One answer: when its request was sent (ms, performance.now()) and how long it took. */
export interface TimedAnswer {
  sentAtMs: number;
  latencyMs: number;
  status: number;
}

/** A paced payment load that runs until stopped, keeping every answer with its time. */
export interface TimedLoad {
  /** Stops sending; resolves once the answers in flight are in. */
  stop(): Promise<TimedAnswer[]>;
  /** Request errors (timeouts, resets): they have no answer. */
  errors(): number;
}

/**
 * autocannon paces a connection by a quota per second that refills on one timer per
 * connection, and the connections of one instance start together: at 100/s it sends a
 * burst of 100 requests at the start of every second, which measures the queue a burst
 * makes, not the latency at that rate. So the load is `PACED_INSTANCES_MAX` instances at
 * most, each with a share of the rate (one request per second per connection), started
 * `1000 / instances` ms apart: at 100/s, two requests every 20 ms.
 */
const PACED_INSTANCES_MAX = 50;

/**
 * POSTs `/v1/payments` (tok_visa, automatic capture, a fresh Idempotency-Key each) at
 * `ratePerS`, spread evenly over each second (above), until `stop()`. Unlike autocannon's
 * own histogram, each answer keeps the time its request was sent, so a caller can take
 * the latency of exactly the requests made while something else ran.
 */
export function startTimedLoad(
  platform: BenchPlatform,
  key: string,
  amount: number,
  ratePerS: number,
): TimedLoad {
  const answers: TimedAnswer[] = [];
  let errors = 0;
  const instances = Math.max(1, Math.min(PACED_INSTANCES_MAX, Math.floor(ratePerS)));
  const running: autocannon.Instance[] = [];
  const finished: Promise<void>[] = [];
  let stopped = false;
  const starts = Array.from({ length: instances }, (_, index) => {
    // Shares differ by one at most and add up to the rate.
    const share =
      Math.floor((ratePerS * (index + 1)) / instances) - Math.floor((ratePerS * index) / instances);
    return setTimeout(
      () => {
        if (stopped || share === 0) return;
        const instance = paymentsInstance(platform, key, amount, share);
        running.push(instance);
        finished.push(new Promise<void>((resolve) => instance.once('done', () => resolve())));
        instance.on('response', (_client, status, _bytes, latencyMs) => {
          answers.push({ sentAtMs: performance.now() - latencyMs, latencyMs, status });
        });
        instance.on('reqError', () => {
          errors += 1;
        });
      },
      (1_000 * index) / instances,
    );
  });
  return {
    stop: async () => {
      stopped = true;
      for (const start of starts) clearTimeout(start);
      for (const instance of running) instance.stop();
      await Promise.all(finished);
      return answers;
    },
    errors: () => errors,
  };
}

/** One autocannon instance sending `ratePerS` payments, one a second per connection. */
function paymentsInstance(
  platform: BenchPlatform,
  key: string,
  amount: number,
  ratePerS: number,
): autocannon.Instance {
  return autocannon(
    {
      ...paymentRequests(platform, key, amount),
      // As many connections as requests a second: each sends one per second, on its tick.
      connections: ratePerS,
      overallRate: ratePerS,
      duration: LOAD_DURATION_MAX_S,
    },
    () => undefined,
  );
}

/** Latency figures of some answers (2xx only; the others are counted). */
export interface LoadFigures {
  requests: number;
  ok: number;
  non2xx: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** The figures of the answers whose request was sent within [fromMs, toMs]. */
export function loadFigures(
  answers: readonly TimedAnswer[],
  fromMs = 0,
  toMs = Infinity,
): LoadFigures {
  const within = answers.filter((a) => a.sentAtMs >= fromMs && a.sentAtMs <= toMs);
  const ok = within.filter((a) => a.status >= 200 && a.status < 300).map((a) => a.latencyMs);
  return {
    requests: within.length,
    ok: ok.length,
    non2xx: within.length - ok.length,
    p50Ms: round(percentile(ok, 50)),
    p99Ms: round(percentile(ok, 99)),
    maxMs: ok.length === 0 ? Number.NaN : round(ok.reduce((max, ms) => Math.max(max, ms), 0)),
  };
}
