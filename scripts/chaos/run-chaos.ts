import { randomBytes } from 'node:crypto';
import { WORK_QUEUES } from '@clearline/contracts';
import {
  dailySettlementAwayFromNow,
  startPlatform,
  tcpProxy,
  throughProxy,
  type IsolatedInfrastructure,
  type Platform,
  type ServiceName,
  type TcpProxy,
} from '@clearline/testing';
import { chaosViolations, isSettledAnswer } from './checks';
import { collectState } from './collect';
import { CrashWatch, runFaults, restorePlatform, type FaultTargets } from './faults';
import { call, eachLimited } from './http';
import { restoreInfrastructure } from './infra-faults';
import { ChaosLoad, type LoadMerchant } from './load';
import type { RequestRecord } from './model';
import { seededRandom } from './prng';
import { buildSchedule, describeFault, SERVICES, type FaultKind } from './schedule';
import { Sweeper, untilQuiet } from './settle';
import { webhookEndpoints, type WebhookEndpoints } from './webhook-endpoints';

export interface ChaosOptions {
  seed: number;
  durationS: number;
  faults: number;
  /** Payment flows started per second. */
  rate: number;
  only?: readonly FaultKind[];
  infra: IsolatedInfrastructure;
  log: (line: string) => void;
}

export interface ChaosSummary {
  chaos: 'done';
  seed: number;
  faults: number;
  payments: number;
  refunds: number;
  violations: number;
  seconds: number;
  /** Each violation, said in a sentence. */
  found: string[];
}

/** Flows in flight at most: past it a tick is skipped (the platform is slower than the rate). */
const FLOWS_IN_FLIGHT_MAX = 64;
/** The wait for quiet after the faults: retries back off, the sweeper resumes. */
const QUIET_TIMEOUT_MS = 240_000;
/** A released key's lock lasts 60 s after a gateway died holding it; sending again waits past it. */
const RESEND_TIMEOUT_MS = 120_000;
const RESEND_EVERY_MS = 1_000;
const REQUESTS_AT_ONCE = 8;
const QUEUES = WORK_QUEUES.map((queue) => queue.name);

function serviceEnv(
  infra: IsolatedInfrastructure,
  proxies: Record<ServiceName, TcpProxy>,
  webhooksSecret: string,
): Partial<Record<ServiceName, Record<string, string>>> {
  const viaProxy = (service: ServiceName) => ({
    AMQP_URL: throughProxy(infra.amqpUrl, proxies[service]),
  });
  return {
    gateway: {
      ...viaProxy('gateway'),
      PAYMENT_WAIT_MS: '5000',
      OPERATION_RESUME_AFTER_MS: '3000',
      WEBHOOK_ALLOW_HTTP: '1',
      WEBHOOK_ALLOW_PRIVATE: '1',
      WEBHOOK_TIMEOUT_MS: '1000',
      WEBHOOK_CONNECT_TIMEOUT_MS: '500',
      SECRETS_ENCRYPTION_KEY: webhooksSecret,
    },
    ledger: viaProxy('ledger'),
    refund: viaProxy('refund'),
    // No cut-off during the run: its payouts would move the balances the checks add up.
    settlement: {
      ...viaProxy('settlement'),
      ...dailySettlementAwayFromNow(),
    },
  };
}

/** Sends `request` again until it is answered for good, within the deadline. */
async function resend(load: ChaosLoad, request: RequestRecord): Promise<void> {
  const deadline = Date.now() + RESEND_TIMEOUT_MS;
  while (!isSettledAnswer(request.final) && Date.now() < deadline) {
    request.final = await load.send(request);
    if (!isSettledAnswer(request.final)) await new Promise((r) => setTimeout(r, RESEND_EVERY_MS));
  }
}

/** The outcomes the faults left unknown: resent requests, then the deferred captures and cancels. */
async function resolveUnknowns(
  load: ChaosLoad,
  platform: Platform,
  sweeper: Sweeper,
  merchants: readonly LoadMerchant[],
): Promise<void> {
  await eachLimited(
    load.requests.filter((r) => !isSettledAnswer(r.first)),
    REQUESTS_AT_ONCE,
    (r) => resend(load, r),
  );
  await eachLimited(load.deferred, REQUESTS_AT_ONCE, async ({ payment, planned }) => {
    await resend(load, payment);
    const id = (payment.final.body as { id?: string }).id;
    const merchant = merchants.find((m) => m.key === payment.merchantKey);
    if (id === undefined || !merchant) return;
    const deadline = Date.now() + QUIET_TIMEOUT_MS;
    for (;;) {
      const now = await call(platform.gw.baseUrl, 'GET', `/v1/payments/${id}`, merchant.key);
      const status = (now.body as { status?: string }).status;
      if (status === 'requires_capture') break;
      if (now.status === 200 && status !== 'processing') return;
      if (Date.now() > deadline) return;
      await sweeper.sweep();
      await new Promise((r) => setTimeout(r, RESEND_EVERY_MS));
    }
    await resend(load, await load.act(merchant, id, planned));
  });
}

async function merchantsOf(
  platform: Platform,
  webhooks: WebhookEndpoints,
): Promise<LoadMerchant[]> {
  const urls = [webhooks.hangingUrl, webhooks.normalUrl, null];
  const made = [];
  for (const [i, url] of urls.entries()) {
    made.push(await platform.gw.createMerchant({ name: `Chaos shop ${i}`, webhook_url: url }));
  }
  return made.map((m) => ({ id: m.id, key: m.api_key }));
}

/** A first payment per merchant until one succeeds: its ledger accounts are open then. */
async function warmUp(load: ChaosLoad, merchants: readonly LoadMerchant[]): Promise<void> {
  const deadline = Date.now() + RESEND_TIMEOUT_MS;
  for (const merchant of merchants) {
    for (;;) {
      const pay = await load.post('pay', merchant, '/v1/payments', {
        amount: 100,
        currency: 'usd',
        source: 'tok_visa',
      });
      if (pay.first.status === 200) break;
      if (Date.now() > deadline)
        throw new Error(`warm-up payment of ${merchant.id} never succeeded`);
      await new Promise((r) => setTimeout(r, RESEND_EVERY_MS));
    }
  }
}

/**
 * One chaos run on `infra`: the four services (each through its own proxy to the
 * broker), merchants, a seeded load with a seeded schedule of faults, then the wait for
 * quiet and the checks. Every wait has a deadline; faults are undone whatever happens.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosSummary> {
  const started = Date.now();
  const { log } = options;
  const restored = await restoreInfrastructure();
  if (restored.length > 0) log(`restored what an earlier run left stopped: ${restored.join(', ')}`);
  const random = seededRandom(options.seed);
  const schedule = buildSchedule(random.fork('schedule'), {
    durationMs: options.durationS * 1_000,
    faults: options.faults,
    ...(options.only ? { only: options.only } : {}),
  });
  for (const fault of schedule) log(`planned ${describeFault(fault)}`);
  const broker = new URL(options.infra.amqpUrl);
  const proxyList = await Promise.all(
    SERVICES.map(() => tcpProxy({ host: broker.hostname, port: Number(broker.port || 5672) })),
  );
  const proxies = Object.fromEntries(
    SERVICES.map((s, i) => [s, proxyList[i] as TcpProxy]),
  ) as Record<ServiceName, TcpProxy>;
  const webhooks = await webhookEndpoints();
  let platform: Platform | null = null;
  let sweeper: Sweeper | null = null;
  let watch: CrashWatch | null = null;
  try {
    platform = await startPlatform({
      services: SERVICES,
      infra: options.infra,
      env: serviceEnv(options.infra, proxies, randomBytes(32).toString('base64')),
    });
    const running = platform;
    watch = new CrashWatch(running);
    const merchants = await merchantsOf(running, webhooks);
    const targets: FaultTargets = {
      platform: running,
      proxies,
      webhooks,
      processor: { flapping: false },
      random: random.fork('faults'),
      log,
    };
    const load = new ChaosLoad({
      baseUrl: () => running.gw.baseUrl,
      merchants,
      random: random.fork('load'),
      keyPrefix: `chaos_${options.seed}`,
      flapping: () => targets.processor.flapping,
    });
    await warmUp(load, merchants);
    log(
      `platform up in ${((Date.now() - started) / 1_000).toFixed(1)}s; load for ${options.durationS}s at ${options.rate} flows/s`,
    );
    const loadStarted = Date.now();
    const faulting = { on: true };
    const [ran, { skipped }] = await Promise.all([
      runFaults(schedule, targets, loadStarted).finally(() => (faulting.on = false)),
      load.run(options.rate, options.durationS * 1_000, FLOWS_IN_FLIGHT_MAX, () => faulting.on),
    ]);
    await restorePlatform(targets);
    log(
      `load done after ${((Date.now() - loadStarted) / 1_000).toFixed(1)}s: ${load.requests.length} requests, ${skipped} ticks skipped; ${ran} faults`,
    );
    sweeper = await Sweeper.start(running);
    await resolveUnknowns(load, running, sweeper, merchants);
    await untilQuiet(running, sweeper, QUEUES, QUIET_TIMEOUT_MS);
    await eachLimited(load.requests, REQUESTS_AT_ONCE, async (request) => {
      request.replay = await load.send(request);
    });
    const seen = await untilQuiet(running, sweeper, QUEUES, QUIET_TIMEOUT_MS);
    const state = await collectState(
      running,
      merchants.map((m) => m.id),
      load.requests,
      seen,
      QUEUES,
      watch.crashes,
    );
    const found = chaosViolations(state);
    for (const violation of found) log(`violation: ${violation}`);
    return {
      chaos: 'done',
      seed: options.seed,
      faults: ran,
      payments: state.payments.length,
      refunds: state.refunds.length,
      violations: found.length,
      seconds: Math.round((Date.now() - started) / 1_000),
      found,
    };
  } finally {
    watch?.stop();
    await restoreInfrastructure().catch(() => []);
    await sweeper?.close().catch(() => undefined);
    await platform?.close().catch(() => undefined);
    await webhooks.close();
    await Promise.all(proxyList.map((p) => p.close()));
  }
}
