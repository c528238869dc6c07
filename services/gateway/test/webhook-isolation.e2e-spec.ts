/**
 * One merchant's webhook endpoint cannot slow another merchant's payments (issue 12):
 * merchant A's endpoint accepts connections and never answers, A sends about 10 payments
 * a second with `Prefer: respond-async`, and meanwhile merchant B's ordinary
 * `POST /v1/payments` keep their latency (p99 within 2x of B's alone) and none answers
 * `202`. A's deliveries are attempted, bounded (each fails at the total timeout, recorded
 * with its duration) and limited per merchant (never more than
 * `WEBHOOK_MERCHANT_IN_FLIGHT_MAX` open at A's endpoint; the rest are deferred), and B's
 * own webhooks, to a fast endpoint, are still delivered during A's storm.
 *
 * How: the real gateway in this process and the real ledger beside it (payments-harness),
 * both on this file's own vhost and database. B pays N times in a row alone, then again
 * while A's storm runs; A's storm starts first and B's second run begins only once A's
 * deliveries have piled up (A's endpoint holds the limit's worth of requests open), so B
 * is measured against the scenario, not its start.
 * Latencies are compared with each other, not with a fixed number; see P99_FLOOR_MS.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { register } from 'prom-client';
import { eventually, type CreatedMerchant } from '@clearline/testing';
import { card, startPayments, type PaymentsHarness } from './payments-harness';

const TIMEOUT_MS = 5_000;
const IN_FLIGHT_MAX = 4;
/** Sequential payments of B per run: p99 of 100 is the second slowest, not the one outlier. */
const PAYMENTS_N = 100;
const STORM_INTERVAL_MS = 100;
/**
 * B's p99 during the storm must stay within max(2 × p99 alone, p99 alone + this). An
 * unloaded payment takes ~20-35 ms here, so on this 2-core machine (shared with the
 * ledger process, A's storm itself in this very process, and other test runs) two
 * scheduler hiccups could double a p99 that small without any queueing behind webhooks;
 * the stall this test guards against costs seconds per payment, so the floor hides
 * nothing (a stalled payment waits the full PAYMENT_WAIT_MS). Both runs are taken within
 * seconds of each other, but another jest run or a benchmark on this machine meanwhile
 * has pushed B's p99 just past 2 × 49 ms (to 100 ms): 150 ms of floor absorbs that and
 * still fails a payment that queued behind even one webhook delivery (TIMEOUT_MS, 5 s).
 */
const P99_FLOOR_MS = 150;
/** Timers and a loaded machine may end an attempt a little after its bound. */
const DURATION_SLACK_MS = 1_500;

/** Merchant A's endpoint: accepts every connection and request, and never answers. */
class SilentEndpoint {
  received = 0;
  open = 0;
  openMax = 0;
  private readonly server: Server = createServer((req, res) => {
    this.received += 1;
    this.open += 1;
    this.openMax = Math.max(this.openMax, this.open);
    res.on('close', () => (this.open -= 1));
    req.resume();
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** Merchant B's endpoint: answers 200 at once. */
function fastEndpoint(): Server {
  return createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
}

function p99(latenciesMs: readonly number[]): number {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length * 0.99) - 1] ?? Number.NaN;
}

async function deferralsCounted(): Promise<number> {
  const metric = register.getSingleMetric('clearline_task_deferrals_total');
  if (!metric) return 0;
  const { values } = await metric.get();
  return values
    .filter((value) => value.labels['task'] === 'gateway.deliver_webhook')
    .reduce((sum, value) => sum + value.value, 0);
}

describe('webhook isolation: a merchant whose endpoint never answers', () => {
  let h: PaymentsHarness;
  let silent: SilentEndpoint;
  let fast: Server;
  let a: CreatedMerchant;
  let b: CreatedMerchant;

  beforeAll(async () => {
    silent = new SilentEndpoint();
    const silentUrl = await silent.start();
    fast = fastEndpoint();
    await new Promise<void>((resolve) => fast.listen(0, '127.0.0.1', resolve));
    const fastUrl = `http://127.0.0.1:${(fast.address() as AddressInfo).port}/hook`;
    h = await startPayments({
      // The endpoints are local: http on 127.0.0.1, which production refuses.
      WEBHOOK_ALLOW_HTTP: '1',
      WEBHOOK_ALLOW_PRIVATE: '1',
      // Long enough that only a stall behind A's deliveries could turn B's 200 into a 202.
      PAYMENT_WAIT_MS: '10000',
      WEBHOOK_CONNECT_TIMEOUT_MS: '2000',
      WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
      WEBHOOK_MERCHANT_IN_FLIGHT_MAX: String(IN_FLIGHT_MAX),
    });
    a = await h.gw.createMerchant({ name: 'Silent Endpoint Ltd', webhook_url: silentUrl });
    b = await h.gw.createMerchant({ name: 'Bystander Ltd', webhook_url: fastUrl });
  });

  afterAll(async () => {
    await h.close();
    await silent.stop();
    fast.closeAllConnections();
    await new Promise((resolve) => fast.close(resolve));
  });

  /**
   * B's N payments in a row: their latencies and their answers. It stops at the first
   * answer that is not a settled 200, so a stall fails the test in seconds with that
   * answer, rather than after N waits of PAYMENT_WAIT_MS.
   */
  async function paymentsOfB(): Promise<{ latenciesMs: number[]; answers: string[] }> {
    const latenciesMs: number[] = [];
    const answers: string[] = [];
    for (let i = 0; i < PAYMENTS_N; i += 1) {
      const started = performance.now();
      const reply = await h.pay(b, card());
      latenciesMs.push(performance.now() - started);
      answers.push(`${reply.status} ${reply.body.status}`);
      if (answers.at(-1) !== '200 succeeded') break;
    }
    return { latenciesMs, answers };
  }

  /** A's payments, one every STORM_INTERVAL_MS, not awaited, until stopped. */
  function stormOfA(): { stop: () => Promise<number[]> } {
    const replies: Promise<number>[] = [];
    const timer = setInterval(() => {
      const reply = h.pay(a, card(), { headers: { prefer: 'respond-async' } });
      replies.push(reply.then((r) => r.status));
    }, STORM_INTERVAL_MS);
    return {
      stop: async () => {
        clearInterval(timer);
        return Promise.all(replies);
      },
    };
  }

  // Two runs of N payments, a warm-up and the storm's pile-up: more than the default.
  const SCENARIO_TIMEOUT_MS = 150_000;

  it(
    "keeps B's payments settled and fast while A's deliveries hang",
    async () => {
      // Warm-up: connections, pools and the JIT, so "alone" is not measured cold.
      for (let i = 0; i < 10; i += 1) await h.pay(b, card());
      const alone = await paymentsOfB();

      const deferredBefore = await deferralsCounted();
      const storm = stormOfA();
      let during: Awaited<ReturnType<typeof paymentsOfB>>;
      try {
        await eventually(() => silent.open >= IN_FLIGHT_MAX, {
          what: "A's deliveries to fill A's in-flight limit at A's endpoint",
        });
        during = await paymentsOfB();
      } finally {
        const stormStatuses = await storm.stop();
        expect(new Set(stormStatuses)).toEqual(new Set([202]));
      }

      expect(alone.answers).toEqual(Array(PAYMENTS_N).fill('200 succeeded'));
      expect(during.answers).toEqual(Array(PAYMENTS_N).fill('200 succeeded'));
      const p99Alone = p99(alone.latenciesMs);
      const p99During = p99(during.latenciesMs);
      const boundMs = Math.max(2 * p99Alone, p99Alone + P99_FLOOR_MS);
      // As one object, so a failure shows all three figures.
      const figures = { p99Alone, p99During, boundMs };
      expect({ ...figures, within: p99During <= boundMs }).toEqual({ ...figures, within: true });
      // One merchant's endpoint never held more than its share of the webhook lane: the
      // deliveries over it were deferred.
      expect(silent.openMax).toBeLessThanOrEqual(IN_FLIGHT_MAX);
      expect(await deferralsCounted()).toBeGreaterThan(deferredBefore);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it("records A's attempts as failed at the timeout, and still delivers B's webhooks", async () => {
    const db = h.gw.db;
    const failed = await eventually(
      async () => {
        const rows = await db.query<{ error: string | null; duration_ms: number }[]>(
          `SELECT w.error, w.duration_ms FROM webhook_attempts w
             JOIN events e ON e.id = w.event_id
            WHERE e.merchant_id = $1 AND NOT w.succeeded`,
          [a.id],
        );
        return rows.length >= IN_FLIGHT_MAX && rows;
      },
      { what: "A's timed-out attempts to be recorded" },
    );
    for (const attempt of failed) {
      expect(attempt.error).toBe('timeout');
      expect(attempt.duration_ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
      expect(attempt.duration_ms).toBeLessThanOrEqual(TIMEOUT_MS + DURATION_SLACK_MS);
    }
    // B's events (one per payment) each delivered, A's backlog notwithstanding.
    await eventually(
      async () => {
        const [row] = await db.query<{ waiting: number }[]>(
          `SELECT count(*)::int AS waiting FROM events e
            WHERE e.merchant_id = $1
              AND NOT EXISTS (SELECT 1 FROM webhook_attempts w
                               WHERE w.event_id = e.id AND w.succeeded)`,
          [b.id],
        );
        return row?.waiting === 0;
      },
      { what: "every event of B to be delivered to B's endpoint" },
    );
  });
});
