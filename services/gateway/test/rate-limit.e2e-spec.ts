/**
 * Rate limits per API key, counted in Redis: over the limit a key gets 429 rate_limit
 * with Retry-After, other keys and public routes are not affected, the count is shared
 * by every gateway replica, and a deployment with another REDIS_KEY_PREFIX on the same
 * Redis counts apart. The Redis storage is also driven directly for its window, block
 * and key rules.
 *
 * How: a gateway with RATE_LIMIT_PER_S=2 (bursts of 4 per 1 s window, 20 per 10 s) and a
 * second replica on the same Redis, database and prefix. Their RateLimitClock is held
 * still, so a burst lands in one window however slow the machine, and is moved on by
 * hand to end a window (no sleeps). Before each test the clock moves past every window,
 * so the operator's own calls (creating merchants) start from a fresh count.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RateLimitClock } from '../src/rate-limit/rate-limit.clock';
import { SUSTAINED_WINDOW_MS } from '../src/rate-limit/rate-limit.module';
import { KEY_GRACE_MS, RedisThrottlerStorage } from '../src/rate-limit/redis-throttler.storage';
import { anyString, startGateway, type ErrorReply, type GatewayHarness } from './gateway-harness';

const RATE_PER_S = 2;
const BURST = RATE_PER_S * 2;
const BURST_WINDOW_MS = 1_000;

describe('rate limit', () => {
  let gw: GatewayHarness;
  let replica: GatewayHarness;
  let elsewhere: GatewayHarness;
  let redis: Redis;
  /** The time every gateway's rate limit sees (ms since the epoch). */
  let now = Date.now();

  const holdClock = (harness: GatewayHarness): void => {
    jest.spyOn(harness.app.get(RateLimitClock), 'nowMs').mockImplementation(() => now);
  };
  const events = (harness: GatewayHarness, key: string) =>
    harness.call<ErrorReply>('GET', '/v1/events', { key });
  const burst = (count: number, key: string, gateways = [gw]) =>
    Promise.all(
      Array.from({ length: count }, (_, i) => events(gateways[i % gateways.length]!, key)),
    );
  const statuses = (replies: { status: number }[]) => ({
    ok: replies.filter((reply) => reply.status === 200).length,
    limited: replies.filter((reply) => reply.status === 429).length,
  });

  beforeAll(async () => {
    const env = { RATE_LIMIT_PER_S: String(RATE_PER_S) };
    gw = await startGateway(env);
    // A second replica: same database, broker and Redis prefix, its own process state.
    replica = await startGateway(env, { replicaOf: gw });
    // Another deployment on the same Redis (and, to reuse the merchants, the same database).
    elsewhere = await startGateway(
      { ...env, REDIS_KEY_PREFIX: `${gw.infra.redisKeyPrefix}elsewhere:` },
      { replicaOf: gw },
    );
    for (const harness of [gw, replica, elsewhere]) holdClock(harness);
    redis = new Redis(gw.infra.redisUrl);
  });

  beforeEach(() => {
    now += SUSTAINED_WINDOW_MS + BURST_WINDOW_MS;
  });

  afterAll(async () => {
    redis.disconnect();
    await elsewhere.close();
    await replica.close();
    await gw.close();
  });

  it('answers 429 rate_limit with Retry-After once a key exceeds its burst', async () => {
    const merchant = await gw.createMerchant();
    const replies = await burst(BURST + 4, merchant.api_key);
    expect(statuses(replies)).toEqual({ ok: BURST, limited: 4 });
    for (const reply of replies.filter((r) => r.status === 429)) {
      expect(reply.body.error).toEqual({
        type: 'rate_limit_error',
        code: 'rate_limit',
        message: anyString(),
        param: null,
      });
      // The burst window began with this burst and the clock has not moved: 1 s is left.
      expect(reply.headers.get('retry-after')).toBe('1');
    }
  });

  it('counts per key: another merchant, and public routes, are not limited', async () => {
    const busy = await gw.createMerchant();
    const quiet = await gw.createMerchant();
    expect(statuses(await burst(BURST + 1, busy.api_key))).toEqual({ ok: BURST, limited: 1 });
    expect((await events(gw, busy.api_key)).status).toBe(429);
    expect((await events(gw, quiet.api_key)).status).toBe(200);
    for (let i = 0; i < BURST + 2; i += 1) {
      expect((await gw.call('GET', '/health/live', { key: null })).status).toBe(200);
    }
  });

  it('lets the key through again exactly when the window has passed', async () => {
    const merchant = await gw.createMerchant();
    await burst(BURST, merchant.api_key);
    const limited = await events(gw, merchant.api_key);
    expect(limited.status).toBe(429);
    const retryAfterMs = Number(limited.headers.get('retry-after')) * 1_000;
    expect(retryAfterMs).toBe(BURST_WINDOW_MS);
    now += retryAfterMs - 1;
    expect((await events(gw, merchant.api_key)).status).toBe(429);
    now += 1;
    expect((await events(gw, merchant.api_key)).status).toBe(200);
  });

  it('holds the sustained rate over its 10 s window, across burst windows', async () => {
    const merchant = await gw.createMerchant();
    const sustained = (RATE_PER_S * SUSTAINED_WINDOW_MS) / 1_000;
    for (let sent = 0; sent < sustained; sent += BURST) {
      expect(statuses(await burst(BURST, merchant.api_key))).toEqual({ ok: BURST, limited: 0 });
      now += BURST_WINDOW_MS;
    }
    const over = await events(gw, merchant.api_key);
    expect(over.status).toBe(429);
    // The sustained window began 5 burst windows ago: 5 s of it are left.
    expect(over.headers.get('retry-after')).toBe(String((SUSTAINED_WINDOW_MS - 5_000) / 1_000));
  });

  it('shares the count between gateway replicas', async () => {
    const merchant = await gw.createMerchant();
    const replies = await burst(BURST * 2 + 2, merchant.api_key, [gw, replica]);
    expect(statuses(replies)).toEqual({ ok: BURST, limited: BURST + 2 });
  });

  it('counts apart from a deployment with another REDIS_KEY_PREFIX on the same Redis', async () => {
    const merchant = await gw.createMerchant();
    await burst(BURST + 1, merchant.api_key);
    expect((await events(replica, merchant.api_key)).status).toBe(429);
    expect(statuses(await burst(BURST, merchant.api_key, [elsewhere]))).toEqual({
      ok: BURST,
      limited: 0,
    });
    const ours = await redis.keys(`${gw.infra.redisKeyPrefix}rate:{burst:key:*}:window`);
    const theirs = await redis.keys(
      `${gw.infra.redisKeyPrefix}elsewhere:rate:{burst:key:*}:window`,
    );
    expect(ours.length).toBeGreaterThan(0);
    expect(theirs).toHaveLength(1);
  });

  describe('RedisThrottlerStorage', () => {
    let storage: RedisThrottlerStorage;
    let storageNow = 1_000_000;
    const clock: RateLimitClock = { nowMs: () => storageNow };
    const prefix = (): string => `${gw.infra.redisKeyPrefix}storage:`;

    beforeAll(async () => {
      storage = new RedisThrottlerStorage({ url: gw.infra.redisUrl, keyPrefix: prefix(), clock });
      await storage.onModuleInit();
    });

    afterAll(async () => {
      await storage.onApplicationShutdown();
    });

    it('counts hits in a fixed window and blocks past the limit until the window ends', async () => {
      const key = `window-${randomUUID()}`;
      const hit = () => storage.increment(key, 2_000, 3, 0, 'burst');
      const records = [await hit(), await hit(), await hit(), await hit()];
      expect(records.map((r) => [r.totalHits, r.isBlocked])).toEqual([
        [1, false],
        [2, false],
        [3, false],
        [4, true],
      ]);
      expect(records[0]).toMatchObject({ timeToExpire: 2, timeToBlockExpire: 0 });
      expect(records[3]).toMatchObject({ timeToExpire: 2, timeToBlockExpire: 2 });
      storageNow += 1_999;
      expect(await hit()).toMatchObject({ totalHits: 5, isBlocked: true, timeToBlockExpire: 1 });
      storageNow += 1;
      expect(await hit()).toMatchObject({ totalHits: 1, isBlocked: false, timeToExpire: 2 });
    });

    it('keeps a blocked caller blocked for the block duration, past the window', async () => {
      const key = `block-${randomUUID()}`;
      const hit = () => storage.increment(key, 300, 1, 1_500, 'burst');
      await hit();
      expect(await hit()).toMatchObject({ isBlocked: true, timeToBlockExpire: 2 });
      storageNow += 400;
      expect(await hit()).toMatchObject({ totalHits: 1, isBlocked: true, timeToBlockExpire: 2 });
      storageNow += 1_100;
      expect(await hit()).toMatchObject({ totalHits: 1, isBlocked: false });
    });

    it("measures windows in Redis's own clock when the gateway's clock says nothing", async () => {
      const onRedisTime = new RedisThrottlerStorage({
        url: gw.infra.redisUrl,
        keyPrefix: prefix(),
      });
      try {
        await onRedisTime.onModuleInit();
        const key = `redis-time-${randomUUID()}`;
        await onRedisTime.increment(key, 60_000, 1, 0, 'sustained');
        expect(await onRedisTime.increment(key, 60_000, 1, 0, 'sustained')).toMatchObject({
          totalHits: 2,
          isBlocked: true,
          timeToExpire: 60,
        });
      } finally {
        await onRedisTime.onApplicationShutdown();
      }
    });

    it('puts the deployment prefix before every key and keeps the hash tag for Redis Cluster', async () => {
      const key = `keys-${randomUUID()}`;
      await storage.increment(key, 1_000, 0, 5_000, 'burst');
      const written = (await redis.keys(`*${key}*`)).sort();
      expect(written).toEqual([
        `${prefix()}rate:{burst:${key}}:block`,
        `${prefix()}rate:{burst:${key}}:window`,
      ]);
      // The window and block keys are collected a grace period after they end, not kept.
      for (const name of written) {
        const ttl = await redis.pttl(name);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(5_000 + KEY_GRACE_MS);
      }
    });

    it('lets requests through when Redis cannot be reached', async () => {
      const unreachable = new RedisThrottlerStorage({
        url: 'redis://127.0.0.1:1',
        keyPrefix: prefix(),
      });
      try {
        await expect(unreachable.increment('k', 1_000, 1, 0, 'burst')).resolves.toMatchObject({
          isBlocked: false,
        });
      } finally {
        await unreachable.onApplicationShutdown();
      }
    });
  });
});
