/**
 * Every wait of the API is bounded: a request that cannot be served in time answers
 * 503 `service_unavailable` with `Retry-After`, never hangs and never answers 500; and
 * once the broker or the database is back, the same requests succeed again.
 *
 * How: the production gateway in this process reaches RabbitMQ and PostgreSQL through
 * TCP proxies of this test's own (libs/testing's `tcpProxy`); the ledger runs as its own
 * process straight on this file's vhost and database. Cutting a proxy resets every
 * connection of the gateway to that server and refuses new ones, while the server keeps
 * running for everyone else.
 * - Broker cut: `GET /v1/balance` (a task round trip to the ledger) and the ledger check
 *   answer 503 with `Retry-After` well before the client would give up; a payment still
 *   commits (its tasks wait in the outbox) and answers 202 after its wait, then completes
 *   once the broker is back; the publish deadline shows in the gateway's metrics.
 * - Database cut: routes that read the database answer 503, then 200 again.
 */
import {
  eventually,
  isolatedInfrastructure,
  paymentsApi,
  SERVICE_START_TIMEOUT_MS,
  startServiceOnFreePort,
  tcpProxy,
  throughProxy,
  TEST_INFRA,
  type CreatedMerchant,
  type IsolatedInfrastructure,
  type PaymentsApi,
  type Reply,
  type ServiceProcess,
  type TcpProxy,
} from '@clearline/testing';
import { card } from './payments-harness';
import { startGateway, type GatewayHarness } from './gateway-harness';

jest.setTimeout(SERVICE_START_TIMEOUT_MS + 120_000);

/**
 * A bound no answer may reach: the balance's own budget (5 s) with room for a loaded
 * machine. A hang (the old behaviour) would run into the client's 60 s timeout instead.
 */
const ANSWER_BOUND_MS = 20_000;
const RECOVERY_TIMEOUT_MS = 60_000;

function proxyTo(url: string): Promise<TcpProxy> {
  const parsed = new URL(url);
  return tcpProxy({ host: parsed.hostname, port: Number(parsed.port) });
}

/** The answer and how long it took. */
async function timed<T>(call: () => Promise<Reply<T>>): Promise<{ reply: Reply<T>; ms: number }> {
  const startedMs = Date.now();
  const reply = await call();
  return { reply, ms: Date.now() - startedMs };
}

function expectUnavailable(reply: Reply): void {
  expect(reply.status).toBe(503);
  expect(reply.body).toEqual({
    error: {
      type: 'api_error',
      code: 'service_unavailable',
      message: expect.any(String) as unknown,
      param: null,
    },
  });
  expect(Number(reply.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
}

describe('bounded waits: 503 instead of hanging when the broker or the database is away', () => {
  let infra: IsolatedInfrastructure;
  let broker: TcpProxy;
  let database: TcpProxy;
  let ledger: ServiceProcess;
  let gw: GatewayHarness;
  let api: PaymentsApi;
  let shop: CreatedMerchant;

  const balance = (): Promise<Reply> => gw.call('GET', '/v1/balance', { key: shop.api_key });

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    broker = await proxyTo(TEST_INFRA.amqpBaseUrl);
    database = await proxyTo(infra.databaseUrl);
    ledger = await startServiceOnFreePort('ledger', infra.env);
    gw = await startGateway(
      {
        AMQP_URL: throughProxy(infra.amqpUrl, broker),
        DATABASE_URL: throughProxy(infra.databaseUrl, database),
        RATE_LIMIT_PER_S: '1000000',
        PAYMENT_WAIT_MS: '3000',
      },
      { infra },
    );
    api = paymentsApi(gw);
    shop = await gw.createMerchant();
  });

  afterAll(async () => {
    broker.heal();
    database.heal();
    await gw.close();
    await ledger.stop();
    await broker.close();
    await database.close();
    await infra.destroy();
  });

  it('answers 503 with Retry-After while the broker is cut, keeps payments, and recovers', async () => {
    // A fresh ledger process may take a moment for its first answer.
    await eventually(async () => (await balance()).status === 200, {
      timeoutMs: RECOVERY_TIMEOUT_MS,
      intervalMs: 250,
      what: 'the first balance to answer 200',
    });
    broker.cut();
    try {
      const asked = await timed(balance);
      expectUnavailable(asked.reply);
      expect(asked.ms).toBeLessThan(ANSWER_BOUND_MS);

      const checked = await timed(() => gw.call('GET', '/v1/admin/ledger/check'));
      expectUnavailable(checked.reply);
      expect(checked.ms).toBeLessThan(ANSWER_BOUND_MS);

      // The payment commits with its tasks in the outbox and answers after its wait.
      const paid = await api.pay(shop, card());
      expect(paid.status).toBe(202);
      expect(paid.body.status).toBe('processing');
      expect(
        await api.metric('clearline_publish_timeouts_total', { outcome: 'unsent' }),
      ).toBeGreaterThan(0);
      broker.heal();

      await eventually(async () => (await balance()).status === 200, {
        timeoutMs: RECOVERY_TIMEOUT_MS,
        intervalMs: 250,
        what: 'the balance to answer 200 again',
      });
      await api.until(shop, paid.body.id, 'succeeded');
      expect(await api.metric('clearline_publish_backlog_messages', {})).toBe(0);
    } finally {
      broker.heal();
    }
  });

  it('answers 503 with Retry-After while the database is cut, and recovers', async () => {
    const paymentId = await api.captured(shop, 1_000);
    database.cut();
    try {
      const read = await timed(() => api.get(shop, paymentId));
      expectUnavailable(read.reply);
      expect(read.ms).toBeLessThan(ANSWER_BOUND_MS);
      const listed = await timed(() =>
        gw.call('GET', '/v1/payments?limit=3', { key: shop.api_key }),
      );
      expectUnavailable(listed.reply);
      expect(listed.ms).toBeLessThan(ANSWER_BOUND_MS);
      // The readiness probe says so too: 503 with its report of what is down, not a 500.
      const ready = await gw.call<{ status: string; error: Record<string, unknown> }>(
        'GET',
        '/health/ready',
      );
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ status: 'error' });
      expect(Object.keys(ready.body.error)).toContain('database');
    } finally {
      database.heal();
    }
    await eventually(async () => (await api.get(shop, paymentId)).status === 200, {
      timeoutMs: RECOVERY_TIMEOUT_MS,
      intervalMs: 250,
      what: 'the payment to be readable again',
    });
  });
});
