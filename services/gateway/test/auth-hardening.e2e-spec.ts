/**
 * Authentication and resource limits against hostile callers (issue 15, OWASP API2 and
 * API4): every bad key answers 401 with the error object; a rolled key stops working on
 * the replica that rolled it the moment the roll answers, whatever lookup raced it;
 * failed authentications are limited per client address (429 with Retry-After), and a
 * flood of bad keys costs no database query each; admin failures are limited too, the
 * right key included once the address is blocked; new API keys kept for idempotent
 * replays are sealed at rest; with Redis unreachable the rate limits fail closed (503)
 * or open, as configured; every list route caps its page size.
 *
 * How: a real gateway (TRUST_PROXY=1, so each test is its own client address through
 * `X-Forwarded-For`; small failure limits) and a replica on the same database and Redis
 * without TRUST_PROXY. Their rate-limit clock is held still and moved past every window
 * before each test. Races are set up with gates around the real repository's calls, and
 * database queries are counted by wrapping the DataSource's `query`. Redis outages go
 * through proxies of the test's own: one that holds every byte (Redis does not answer),
 * one that refuses connections.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import {
  connectDatabase,
  eventually,
  Gate,
  tcpProxy,
  throughProxy,
  type TcpProxy,
  type TestDatabase,
} from '@clearline/testing';
import { hashApiKey } from '../src/auth/api-key';
import { ApiKeysRepository } from '../src/merchants/api-keys.repository';
import { RateLimitClock } from '../src/rate-limit/rate-limit.clock';
import { AUTH_FAILURE_WINDOW_MS } from '../src/rate-limit/auth-failure-limiter';
import {
  anyString,
  startGateway,
  type CallOptions,
  type CreatedMerchant,
  type ErrorReply,
  type GatewayHarness,
  type Reply,
} from './gateway-harness';

const AUTH_FAILURE_LIMIT = 5;
const ADMIN_FAILURE_LIMIT = 3;

/** A well-formed key nobody was ever issued. */
const unknownKey = (): string =>
  `sk_test_${randomBytes(24)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, 'x')
    .slice(0, 32)}`;

/** A proxy to Redis that can hold every byte both ways: Redis is there, but does not answer. */
interface HoldingProxy {
  port: number;
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

async function holdingProxy(target: URL): Promise<HoldingProxy> {
  const held = { on: false };
  const pipes: { from: Socket; to: Socket; queued: Buffer[] }[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 6379), target.hostname);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      const pipe = { from, to, queued: [] as Buffer[] };
      pipes.push(pipe);
      sockets.add(from);
      // Held bytes are sent later in order: Redis answers every command, so replies
      // still match the client's queue of commands.
      from.on('data', (chunk: Buffer) => (held.on ? pipe.queued.push(chunk) : to.write(chunk)));
      from.on('error', () => to.destroy());
      from.on('close', () => to.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    hold: () => (held.on = true),
    release: () => {
      held.on = false;
      for (const pipe of pipes) for (const chunk of pipe.queued.splice(0)) pipe.to.write(chunk);
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('authentication hardening', () => {
  let gw: GatewayHarness;
  let replica: GatewayHarness;
  let db: TestDatabase;
  /** The time every gateway's rate limit sees (ms since the epoch). */
  let now = Date.now();
  let tests = 0;
  /** This test's `n`-th client address: no other test uses it. */
  const address = (n: number): string => `198.51.${tests}.${n}`;
  /** This test's first client address. */
  let client = '';

  const holdClock = (harness: GatewayHarness): void => {
    jest.spyOn(harness.app.get(RateLimitClock), 'nowMs').mockImplementation(() => now);
  };
  /** A call from this test's client address, through the trusted proxy. */
  const from = <T = ErrorReply>(
    address: string,
    method: string,
    path: string,
    options: CallOptions = {},
  ): Promise<Reply<T>> =>
    gw.call<T>(method, path, {
      ...options,
      headers: { ...options.headers, 'x-forwarded-for': address },
    });
  const events = (key: string | null, address = client) =>
    from(address, 'GET', '/v1/events', { key });
  const roll = (merchant: CreatedMerchant) =>
    gw.call<{ api_key: string }>('POST', `/v1/admin/merchants/${merchant.id}/keys`, { body: {} });
  /** Counts the queries that look API keys up, from now on. */
  const keyLookups = (harness: GatewayHarness): (() => number) => {
    const dataSource = harness.app.get(DataSource);
    const query = jest.spyOn(dataSource, 'query');
    return () =>
      query.mock.calls.filter(([sql]) => typeof sql === 'string' && sql.includes('FROM api_keys'))
        .length;
  };

  beforeAll(async () => {
    const env = {
      AUTH_FAILURE_LIMIT_PER_MIN: String(AUTH_FAILURE_LIMIT),
      ADMIN_AUTH_FAILURE_LIMIT_PER_MIN: String(ADMIN_FAILURE_LIMIT),
    };
    gw = await startGateway({ ...env, TRUST_PROXY: '1' });
    // Said explicitly: an app in this process otherwise inherits the first one's variables
    // (@nestjs/config puts what it validated into process.env).
    replica = await startGateway({ ...env, TRUST_PROXY: '0' }, { replicaOf: gw });
    gateways.push(gw, replica);
    for (const harness of gateways) holdClock(harness);
    db = connectDatabase(gw.infra.databaseUrl);
  });

  beforeEach(() => {
    now += AUTH_FAILURE_WINDOW_MS * 2;
    tests += 1;
    client = address(1);
  });

  /** Gateways whose rate-limit clock is held (all of this file's). */
  const gateways: GatewayHarness[] = [];

  afterEach(() => {
    jest.restoreAllMocks();
    for (const harness of gateways) holdClock(harness);
  });

  afterAll(async () => {
    await db.close();
    await replica.close();
    await gw.close();
  });

  describe('401 for every bad key', () => {
    it('answers missing, malformed, unknown, revoked and rolled keys with the error object', async () => {
      const merchant = await gw.createMerchant();
      const rolled = await roll(merchant);
      expect(rolled.status).toBe(201);
      const cases: [string, string | null, Record<string, string>, string][] = [
        ['missing', null, {}, 'api_key_missing'],
        ['not bearer', null, { authorization: `Basic ${rolled.body.api_key}` }, 'api_key_invalid'],
        ['malformed', 'sk_test_short', {}, 'api_key_invalid'],
        ['card-like', '4242424242424242', {}, 'api_key_invalid'],
        ['unknown', unknownKey(), {}, 'api_key_invalid'],
        ['rolled', merchant.api_key, {}, 'api_key_invalid'],
      ];
      for (const [i, [what, key, headers, code]] of cases.entries()) {
        // Each from an address of its own: more failures than one address may make.
        const reply = await from(address(i + 1), 'GET', '/v1/events', { key, headers });
        expect({ what, status: reply.status, error: reply.body.error }).toEqual({
          what,
          status: 401,
          error: { type: 'authentication_error', code, message: anyString(), param: null },
        });
        // Nothing of a token is echoed but a key's prefix and last four characters.
        if (key !== null) expect(reply.text).not.toContain(key.slice(0, 12));
      }
      expect((await events(rolled.body.api_key)).status).toBe(200);
    });

    it('answers a wrong admin key 401 without echoing it', async () => {
      const wrong = `sk_admin_${randomBytes(20).toString('hex')}`;
      const reply = await from(client, 'GET', '/v1/admin/dead-letters', { key: wrong });
      expect(reply.status).toBe(401);
      expect(reply.body.error).toMatchObject({ type: 'authentication_error' });
      expect(reply.text).not.toContain(wrong.slice(0, 12));
      expect(reply.text).not.toContain(wrong.slice(-8));
    });
  });

  describe('a rolled key on the replica that rolled it', () => {
    it('is not cached by a lookup that read it just before the roll', async () => {
      const merchant = await gw.createMerchant();
      const target = hashApiKey(merchant.api_key);
      const repository = gw.app.get(ApiKeysRepository);
      const findActive = repository.findActive.bind(repository);
      const gate = new Gate();
      gate.close();
      const read = new Gate();
      read.close();
      jest.spyOn(repository, 'findActive').mockImplementation(async (hash) => {
        const row = await findActive(hash);
        if (hash === target) {
          read.open();
          await gate.opened;
        }
        return row;
      });
      // The request reads the key while it is active, and is held before it caches it...
      const early = events(merchant.api_key);
      await read.opened;
      // ...the key is rolled meanwhile...
      expect((await roll(merchant)).status).toBe(201);
      gate.open();
      // ...and the request that raced the roll does not make the old key work again.
      expect((await early).status).toBe(200);
      expect((await events(merchant.api_key)).status).toBe(401);
    });

    it('makes a lookup during the roll wait for its commit, and answers it 401', async () => {
      const merchant = await gw.createMerchant();
      const repository = gw.app.get(ApiKeysRepository);
      const insert = repository.insert.bind(repository);
      const gate = new Gate();
      gate.close();
      const revoked = new Gate();
      revoked.close();
      // The roll's transaction is held open after it revoked the old key.
      jest.spyOn(repository, 'insert').mockImplementation(async (manager, merchantId, key) => {
        if (merchantId === merchant.id) {
          revoked.open();
          await gate.opened;
        }
        return insert(manager, merchantId, key);
      });
      const rolling = roll(merchant);
      await revoked.opened;
      let answered = false;
      const during = events(merchant.api_key).finally(() => (answered = true));
      // Either the lookup waits for the roll's row locks, or (the bug) it answered already.
      await eventually(
        async () =>
          answered ||
          (
            await db.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM pg_stat_activity
                WHERE datname = current_database() AND wait_event_type = 'Lock'`,
            )
          )[0]!.n > 0,
        { what: 'the lookup to wait for the roll, or to answer' },
      );
      gate.open();
      expect((await rolling).status).toBe(201);
      expect((await during).status).toBe(401);
      expect((await events(merchant.api_key)).status).toBe(401);
    });

    it('is refused by another replica once its cache entry expires (at most 1 s)', async () => {
      const merchant = await gw.createMerchant();
      expect((await replica.call('GET', '/v1/events', { key: merchant.api_key })).status).toBe(200);
      expect((await roll(merchant)).status).toBe(201);
      expect((await events(merchant.api_key)).status).toBe(401);
      await eventually(
        async () =>
          (await replica.call('GET', '/v1/events', { key: merchant.api_key })).status === 401,
        { timeoutMs: 10_000, what: 'the replica to refuse the rolled key' },
      );
    });
  });

  describe('failed authentications per client address', () => {
    it('answers 429 with Retry-After past the limit, for missing, malformed and unknown keys alike', async () => {
      const merchant = await gw.createMerchant();
      const bad = [null, 'sk_test_bad', unknownKey(), unknownKey(), 'x'.repeat(40)];
      expect(bad).toHaveLength(AUTH_FAILURE_LIMIT);
      for (const key of bad) expect((await events(key)).status).toBe(401);
      const over = await events(unknownKey());
      expect(over.status).toBe(429);
      expect(over.body.error).toEqual({
        type: 'rate_limit_error',
        code: 'rate_limit',
        message: anyString(),
        param: null,
      });
      expect(over.headers.get('retry-after')).toBe(String(AUTH_FAILURE_WINDOW_MS / 1_000));
      // Blocked: a key this process has not verified is not looked up from that address...
      expect((await events(merchant.api_key)).status).toBe(429);
      // ...while another address is not affected.
      expect((await events(merchant.api_key, address(2))).status).toBe(200);
      // Once the block ends, the address is served again.
      now += AUTH_FAILURE_WINDOW_MS;
      expect((await events(merchant.api_key)).status).toBe(200);
    });

    it('costs one query for a flood of the same bad key, none for malformed keys, and stops random keys before the database', async () => {
      const lookups = keyLookups(gw);
      const same = unknownKey();
      for (let i = 0; i < AUTH_FAILURE_LIMIT; i += 1) expect((await events(same)).status).toBe(401);
      expect(lookups()).toBe(1);
      // The same key from another address: known unknown, no query either.
      const elsewhere = address(2);
      for (let i = 0; i < 3; i += 1) expect((await events(same, elsewhere)).status).toBe(401);
      expect(lookups()).toBe(1);
      const flooder = address(3);
      for (let i = 0; i < 3; i += 1) {
        expect((await events(`sk_test_${'%'.repeat(32)}`, flooder)).status).toBe(401);
      }
      expect(lookups()).toBe(1);
      // Random well-formed keys: each one a query until the failure that crosses the
      // limit (which answers 429); none after it.
      const statuses = [];
      for (let i = 0; i < 20; i += 1) statuses.push((await events(unknownKey(), flooder)).status);
      const underLimit = AUTH_FAILURE_LIMIT - 3;
      expect(statuses.filter((status) => status === 401)).toHaveLength(underLimit);
      expect(statuses.filter((status) => status === 429)).toHaveLength(20 - underLimit);
      expect(lookups()).toBe(1 + underLimit + 1);
    });

    it('reads X-Forwarded-For only when TRUST_PROXY says so', async () => {
      const merchant = await gw.createMerchant();
      // The replica trusts no proxy: every request counts against the socket's address,
      // whatever address the caller claims.
      for (let i = 0; i <= AUTH_FAILURE_LIMIT; i += 1) {
        await replica.call('GET', '/v1/events', {
          key: unknownKey(),
          headers: { 'x-forwarded-for': address(i + 2) },
        });
      }
      const spoofed = await replica.call('GET', '/v1/events', {
        key: merchant.api_key,
        headers: { 'x-forwarded-for': address(99) },
      });
      expect(spoofed.status).toBe(429);
      // Through the proxy the trusting gateway sees this test's own address, not blocked.
      expect((await events(merchant.api_key)).status).toBe(200);
    });
  });

  describe('failed admin authentications', () => {
    it('are limited per address, and a blocked address is refused even with the right key', async () => {
      const admin = (key: string, address = client) =>
        from(address, 'GET', '/v1/admin/dead-letters', { key });
      for (let i = 0; i < ADMIN_FAILURE_LIMIT; i += 1) {
        expect((await admin(`sk_admin_guess_${randomBytes(16).toString('hex')}`)).status).toBe(401);
      }
      const over = await admin('sk_admin_guess_again_0123456789abcdef');
      expect(over.status).toBe(429);
      expect(over.body.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit' });
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await admin(gw.adminKey)).status).toBe(429);
      expect((await admin(gw.adminKey, address(2))).status).toBe(200);
      // Merchant routes count apart: the address still reaches them.
      const merchant = await gw.createMerchant();
      expect((await events(merchant.api_key)).status).toBe(200);
    });
  });

  describe('secrets kept for idempotent replays', () => {
    /** Every row of every table of the gateway's database, as text. */
    const everyRow = async (): Promise<string[]> => {
      const tables = await db.query<{ name: string }>(
        `SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables
          WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`,
      );
      const rows = await Promise.all(
        tables.map(({ name }) => db.query<{ row: string }>(`SELECT t::text AS row FROM ${name} t`)),
      );
      return rows.flat().map(({ row }) => row);
    };

    it('stores a new merchant key and a rolled key sealed, and replays them as first answered', async () => {
      const createKey = randomUUID();
      const create = () =>
        gw.call<CreatedMerchant>('POST', '/v1/admin/merchants', {
          body: { name: 'Sealed' },
          idempotencyKey: createKey,
        });
      const created = await create();
      expect(created.status).toBe(201);
      const rollKey = randomUUID();
      const rollAgain = () =>
        gw.call<{ api_key: string }>('POST', `/v1/admin/merchants/${created.body.id}/keys`, {
          body: {},
          idempotencyKey: rollKey,
        });
      const rolled = await rollAgain();
      expect(rolled.status).toBe(201);

      const secrets = [created.body.api_key, rolled.body.api_key];
      const leaks = (await everyRow()).filter((row) => secrets.some((s) => row.includes(s)));
      expect(leaks).toEqual([]);
      const stored = await db.query<{ response_body: string }>(
        `SELECT response_body FROM idempotency_keys WHERE key = ANY($1)`,
        [[createKey, rollKey]],
      );
      expect(stored).toHaveLength(2);
      for (const { response_body } of stored) {
        expect(response_body).toMatch(/^sb1\./);
        expect(response_body).not.toContain(created.body.webhook_secret);
      }

      const replayed = await create();
      expect(replayed.headers.get('idempotent-replayed')).toBe('true');
      expect(replayed.body).toEqual(created.body);
      const rolledAgain = await rollAgain();
      expect(rolledAgain.headers.get('idempotent-replayed')).toBe('true');
      expect(rolledAgain.body).toEqual(rolled.body);
      expect((await events(rolled.body.api_key)).status).toBe(200);
    });
  });

  describe('Redis unreachable', () => {
    let held: HoldingProxy;
    let refusing: TcpProxy;
    let closed: GatewayHarness;
    let open: GatewayHarness;

    beforeAll(async () => {
      const redis = new URL(gw.infra.redisUrl);
      held = await holdingProxy(redis);
      refusing = await tcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
      const through = (port: number) => `redis://127.0.0.1:${port}`;
      closed = await startGateway(
        { RATE_LIMIT_REDIS_FAILURE: 'closed', REDIS_URL: through(held.port) },
        { replicaOf: gw },
      );
      open = await startGateway(
        { RATE_LIMIT_REDIS_FAILURE: 'open', REDIS_URL: throughProxy(gw.infra.redisUrl, refusing) },
        { replicaOf: gw },
      );
      gateways.push(closed, open);
      for (const harness of [closed, open]) holdClock(harness);
    });

    afterAll(async () => {
      gateways.splice(gateways.indexOf(closed), 2);
      await open.close();
      await closed.close();
      await refusing.close();
      await held.close();
    });

    it('fails closed: 503 service_unavailable with Retry-After once Redis stops answering', async () => {
      const merchant = await gw.createMerchant();
      expect((await closed.call('GET', '/v1/events', { key: merchant.api_key })).status).toBe(200);
      held.hold();
      try {
        const replies = await Promise.all([
          closed.call<ErrorReply>('GET', '/v1/events', { key: merchant.api_key }),
          closed.call<ErrorReply>('GET', '/v1/events', { key: unknownKey() }),
          closed.call<ErrorReply>('GET', '/v1/admin/dead-letters'),
        ]);
        for (const reply of replies) {
          expect(reply.status).toBe(503);
          expect(reply.body.error).toEqual({
            type: 'api_error',
            code: 'service_unavailable',
            message: anyString(),
            param: null,
          });
          expect(Number(reply.headers.get('retry-after'))).toBeGreaterThan(0);
        }
        expect((await closed.call('GET', '/health/live', { key: null })).status).toBe(200);
      } finally {
        held.release();
      }
      await eventually(
        async () =>
          (await closed.call('GET', '/v1/events', { key: merchant.api_key })).status === 200,
        { timeoutMs: 10_000, what: 'the closed gateway to serve again once Redis answers' },
      );
    });

    it('fails open: requests go through, bad keys still answer 401, and a warning is logged', async () => {
      const merchant = await gw.createMerchant();
      const warn = jest.spyOn(Logger.prototype, 'warn');
      refusing.cut();
      try {
        expect((await open.call('GET', '/v1/events', { key: merchant.api_key })).status).toBe(200);
        expect((await open.call('GET', '/v1/events', { key: unknownKey() })).status).toBe(401);
        expect((await open.call('GET', '/v1/admin/dead-letters')).status).toBe(200);
      } finally {
        refusing.heal();
      }
      const warnings = warn.mock.calls.filter(([message]) =>
        String(message).includes('rate limit not enforced'),
      );
      expect(warnings.length).toBeGreaterThan(0);
    });
  });

  describe('resource limits', () => {
    interface Schema {
      $ref?: string;
      properties?: Record<string, { enum?: string[] }>;
    }
    interface Operation {
      parameters?: { name: string; schema?: { maximum?: number } }[];
      security?: Record<string, unknown>[];
      responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
    }
    interface OpenApiDocument {
      paths: Record<string, Record<string, Operation>>;
      components: { schemas: Record<string, Schema> };
    }

    it('caps the page size of every list route at 100, and refuses 101 with 400', async () => {
      const merchant = await gw.createMerchant();
      const document = (await gw.call<OpenApiDocument>('GET', '/docs-json', { key: null })).body;
      /** Whether an operation answers a list object (`object: "list"`). */
      const isList = (operation: Operation): boolean => {
        const ref = operation.responses['200']?.content?.['application/json']?.schema?.$ref;
        const schema = ref && document.components.schemas[ref.split('/').pop() ?? ''];
        return schema ? (schema.properties?.['object']?.enum ?? []).includes('list') : false;
      };
      const lists = Object.entries(document.paths).flatMap(([path, operations]) => {
        const get = operations['get'];
        return get && isList(get) ? [{ path, get }] : [];
      });
      expect(lists.map(({ path }) => path)).toEqual(
        expect.arrayContaining([
          '/v1/payments',
          '/v1/refunds',
          '/v1/events',
          '/v1/payouts',
          '/v1/settlements',
          '/v1/admin/dead-letters',
          '/v1/admin/operations',
        ]),
      );
      for (const { path, get } of lists) {
        const limit = get.parameters?.find((parameter) => parameter.name === 'limit');
        expect({ path, maximum: limit?.schema?.maximum }).toEqual({ path, maximum: 100 });
        const admin = (get.security ?? []).some((scheme) => 'admin_key' in scheme);
        const key = admin ? gw.adminKey : merchant.api_key;
        const over = await gw.call<ErrorReply>('GET', `${path}?limit=101`, { key });
        expect({ path, status: over.status, param: over.body.error.param }).toEqual({
          path,
          status: 400,
          param: 'limit',
        });
        const full = await gw.call<{ object: string }>('GET', `${path}?limit=100`, { key });
        expect({ path, status: full.status, object: full.body.object }).toEqual({
          path,
          status: 200,
          object: 'list',
        });
      }
    });

    it('refuses a body over 100 kB with 413 and metadata past its limits with 400', async () => {
      const merchant = await gw.createMerchant();
      const big = await gw.call<ErrorReply>('POST', '/v1/payments', {
        key: merchant.api_key,
        raw: JSON.stringify({ amount: 100, currency: 'usd', source: 'x'.repeat(101 * 1024) }),
      });
      expect(big.status).toBe(413);
      expect(big.body.error.code).toBe('body_too_large');
      const metadata = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));
      const tooMany = await gw.call<ErrorReply>('POST', '/v1/payments', {
        key: merchant.api_key,
        body: { amount: 100, currency: 'usd', source: 'tok_visa', metadata },
      });
      expect(tooMany.status).toBe(400);
      expect(tooMany.body.error).toMatchObject({ code: 'parameter_invalid', param: 'metadata' });
    });
  });
});
