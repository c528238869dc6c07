/**
 * Rate limits per API key, counted in Redis: over the limit a key gets 429 rate_limit
 * with Retry-After, other keys and public routes are not affected, and the count is
 * shared by every gateway replica.
 *
 * How: a gateway with RATE_LIMIT_PER_S=2 (bursts of 4 in a second, 20 per 10 s) and a
 * second replica on the same Redis; requests are fired together so they land in one
 * window. The Redis storage is also driven directly for its window and block rules.
 */
import { randomUUID } from 'node:crypto';
import { sleep } from '@clearline/testing';
import { RedisThrottlerStorage } from '../src/rate-limit/redis-throttler.storage';
import { anyString, startGateway, type ErrorReply, type GatewayHarness } from './gateway-harness';

const RATE_PER_S = 2;
const BURST = RATE_PER_S * 2;
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

describe('rate limit', () => {
  let gw: GatewayHarness;
  let replica: GatewayHarness;

  beforeAll(async () => {
    const env = { RATE_LIMIT_PER_S: String(RATE_PER_S), REDIS_URL };
    gw = await startGateway(env);
    // A second replica: same database and broker, its own process state.
    replica = await startGateway(env, { replicaOf: gw });
  });

  afterAll(async () => {
    await replica.close();
    await gw.close();
  });

  it('answers 429 rate_limit with Retry-After once a key exceeds its burst', async () => {
    const merchant = await gw.createMerchant();
    const replies = await Promise.all(
      Array.from({ length: BURST + 4 }, () =>
        gw.call<ErrorReply>('GET', '/v1/events', { key: merchant.api_key }),
      ),
    );
    const limited = replies.filter((reply) => reply.status === 429);
    expect(replies.filter((reply) => reply.status === 200).length).toBeLessThanOrEqual(BURST);
    expect(limited.length).toBeGreaterThanOrEqual(4);
    for (const reply of limited) {
      expect(reply.body.error).toEqual({
        type: 'rate_limit_error',
        code: 'rate_limit',
        message: anyString(),
        param: null,
      });
      const retryAfter = Number(reply.headers.get('retry-after'));
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(10);
    }
  });

  it('counts per key: another merchant, and public routes, are not limited', async () => {
    const busy = await gw.createMerchant();
    const quiet = await gw.createMerchant();
    // Three bursts' worth: even if a slow machine splits them over two windows, both overflow.
    await Promise.all(
      Array.from({ length: BURST * 3 }, () => gw.call('GET', '/v1/events', { key: busy.api_key })),
    );
    expect((await gw.call('GET', '/v1/events', { key: busy.api_key })).status).toBe(429);
    expect((await gw.call('GET', '/v1/events', { key: quiet.api_key })).status).toBe(200);
    for (let i = 0; i < BURST + 2; i += 1) {
      expect((await gw.call('GET', '/health/live', { key: null })).status).toBe(200);
    }
  });

  it('lets the key through again once the window has passed', async () => {
    const merchant = await gw.createMerchant();
    await Promise.all(
      Array.from({ length: BURST * 3 }, () =>
        gw.call('GET', '/v1/events', { key: merchant.api_key }),
      ),
    );
    const limited = await gw.call('GET', '/v1/events', { key: merchant.api_key });
    expect(limited.status).toBe(429);
    await sleep(Number(limited.headers.get('retry-after')) * 1_000 + 100);
    expect((await gw.call('GET', '/v1/events', { key: merchant.api_key })).status).toBe(200);
  });

  it('shares the count between gateway replicas', async () => {
    const merchant = await gw.createMerchant();
    const replies = await Promise.all(
      Array.from({ length: BURST * 2 + 2 }, (_, i) =>
        (i % 2 === 0 ? gw : replica).call('GET', '/v1/events', { key: merchant.api_key }),
      ),
    );
    expect(replies.filter((reply) => reply.status === 200).length).toBeLessThanOrEqual(BURST);
    expect(replies.filter((reply) => reply.status === 429).length).toBeGreaterThanOrEqual(
      BURST + 2,
    );
  });
});

describe('RedisThrottlerStorage', () => {
  let storage: RedisThrottlerStorage;

  beforeAll(async () => {
    storage = new RedisThrottlerStorage(REDIS_URL);
    await storage.onModuleInit();
  });

  afterAll(async () => {
    await storage.onApplicationShutdown();
  });

  it('counts hits in a fixed window and blocks past the limit until the window ends', async () => {
    const key = `window-${randomUUID()}`;
    const records = [];
    for (let i = 0; i < 4; i += 1) records.push(await storage.increment(key, 2_000, 3, 0, 'burst'));
    expect(records.map((r) => [r.totalHits, r.isBlocked])).toEqual([
      [1, false],
      [2, false],
      [3, false],
      [4, true],
    ]);
    expect(records[0]).toMatchObject({ timeToExpire: 2, timeToBlockExpire: 0 });
    expect(records[3]!.timeToBlockExpire).toBeGreaterThanOrEqual(1);
    expect(records[3]!.timeToBlockExpire).toBeLessThanOrEqual(2);
  });

  it('keeps a blocked caller blocked for the block duration, past the window', async () => {
    const key = `block-${randomUUID()}`;
    await storage.increment(key, 300, 1, 1_500, 'burst');
    const blocked = await storage.increment(key, 300, 1, 1_500, 'burst');
    expect(blocked).toMatchObject({ isBlocked: true, timeToBlockExpire: 2 });
    await sleep(400);
    const stillBlocked = await storage.increment(key, 300, 1, 1_500, 'burst');
    expect(stillBlocked).toMatchObject({ totalHits: 1, isBlocked: true });
  });

  it('lets requests through when Redis cannot be reached', async () => {
    const unreachable = new RedisThrottlerStorage('redis://127.0.0.1:1');
    try {
      await expect(unreachable.increment('k', 1_000, 1, 0, 'burst')).resolves.toMatchObject({
        isBlocked: false,
      });
    } finally {
      await unreachable.onApplicationShutdown();
    }
  });
});
