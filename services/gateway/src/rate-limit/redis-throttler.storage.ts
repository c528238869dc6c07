import { Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { Redis } from 'ioredis';
import { RateLimitClock } from './rate-limit.clock';
import { connectRedis } from './redis-connection';

/** What `ThrottlerStorage.increment` answers (times in seconds, as the guard expects). */
export interface ThrottleRecord {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
}

/**
 * One round trip, atomic on the Redis server: count a hit in the key's fixed window
 * and say whether the caller is blocked. A window starts with the first hit after the
 * previous one ended and lasts `window` ms; its start and count live in a hash, so the
 * time (`now`) decides the window, not the key's expiry, which only collects the key
 * `grace` ms after the window ends. Over the limit, the caller is blocked until
 * `now + block` when `block` is positive, else until the window ends. `now` is the
 * caller's (a test's clock) or, when empty, Redis's own (TIME). Replies are in ms.
 *
 * KEYS[1] window hash {start, hits}, KEYS[2] block marker (blocked until, ms);
 * ARGV window ms, limit, block ms, now ms or '', grace ms.
 */
export const THROTTLE_SCRIPT = `
local now = tonumber(ARGV[4])
if not now then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
local window = tonumber(ARGV[1])
local grace = tonumber(ARGV[5])
local start = tonumber(redis.call('HGET', KEYS[1], 'start'))
local hits
if not start or now - start >= window then
  start = now
  hits = 1
  redis.call('HSET', KEYS[1], 'start', string.format('%.0f', start), 'hits', 1)
else
  hits = redis.call('HINCRBY', KEYS[1], 'hits', 1)
end
local left = math.min(window, start + window - now)
redis.call('PEXPIRE', KEYS[1], left + grace)
local blockedUntil = tonumber(redis.call('GET', KEYS[2]))
if blockedUntil and blockedUntil > now then
  return {hits, left, 1, blockedUntil - now}
end
if hits > tonumber(ARGV[2]) then
  local block = tonumber(ARGV[3])
  if block > 0 then
    redis.call('SET', KEYS[2], string.format('%.0f', now + block), 'PX', block + grace)
    return {hits, left, 1, block}
  end
  return {hits, left, 1, left}
end
return {hits, left, 0, 0}
`;

interface ThrottleCommand {
  clearlineThrottle(
    windowKey: string,
    blockKey: string,
    windowMs: number,
    limit: number,
    blockMs: number,
    nowMs: string,
    graceMs: number,
  ): Promise<[number, number, number, number]>;
}

/** A rate-limit check waits this long for Redis before letting the request through. */
const COMMAND_TIMEOUT_MS = 250;
/**
 * How long a counter outlives its window before Redis collects it. Only a caller's clock
 * that runs behind Redis's (a test's) needs it; it bounds memory all the same.
 */
export const KEY_GRACE_MS = 10_000;
const WARN_INTERVAL_MS = 10_000;
/** How long start-up waits for Redis before serving without it (fail open). */
const CONNECT_WAIT_MS = 3_000;

export interface RedisThrottlerStorageOptions {
  url: string;
  /** `REDIS_KEY_PREFIX`, before every key. */
  keyPrefix: string;
  /** Where the time comes from (Redis's clock unless a test says otherwise). */
  clock?: RateLimitClock;
}

function seconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1_000));
}

/**
 * @nestjs/throttler's storage in Redis, so every gateway replica counts against the
 * same limits (@nest-lab/throttler-storage-redis does not support Nest 12).
 *
 * If Redis is unreachable the request is let through (fail open) and a warning is
 * logged at most every 10 s: a rate limiter must not take the payment API down.
 */
export class RedisThrottlerStorage
  implements ThrottlerStorage, OnModuleInit, OnApplicationShutdown
{
  private readonly logger = new Logger(RedisThrottlerStorage.name);
  private readonly redis: Redis & ThrottleCommand;
  private readonly clock: RateLimitClock;
  private lastWarningAt = 0;

  constructor(options: RedisThrottlerStorageOptions) {
    this.clock = options.clock ?? new RateLimitClock();
    this.redis = connectRedis({
      url: options.url,
      keyPrefix: options.keyPrefix,
      connectionName: 'clearline-gateway-rate-limit',
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
    }) as Redis & ThrottleCommand;
    this.redis.defineCommand('clearlineThrottle', { numberOfKeys: 2, lua: THROTTLE_SCRIPT });
    this.redis.on('error', (error: Error) => {
      this.warn(`Redis: ${error.message}`);
    });
  }

  /**
   * Waits (a bounded time) for the first connection, so the gateway does not start by
   * letting every request through; commands are not queued while disconnected.
   */
  async onModuleInit(): Promise<void> {
    if (this.redis.status === 'ready') return;
    let timer: NodeJS.Timeout | undefined;
    const connected = await Promise.race([
      new Promise<boolean>((resolve) => this.redis.once('ready', () => resolve(true))),
      new Promise<boolean>(
        (resolve) => (timer = setTimeout(() => resolve(false), CONNECT_WAIT_MS)),
      ),
    ]);
    clearTimeout(timer);
    if (!connected)
      this.warn('Redis is not reachable yet: rate limits are not enforced until it is');
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottleRecord> {
    // The hash tag keeps both keys in one slot of a Redis Cluster (the deployment's
    // prefix, put before them by the client, has no braces).
    const base = `rate:{${throttlerName}:${key}}`;
    const now = this.clock.nowMs();
    try {
      const [hits, ttlMs, blocked, blockMs] = await this.redis.clearlineThrottle(
        `${base}:window`,
        `${base}:block`,
        ttl,
        limit,
        blockDuration,
        now === null ? '' : String(now),
        KEY_GRACE_MS,
      );
      return {
        totalHits: hits,
        timeToExpire: seconds(ttlMs),
        isBlocked: blocked === 1,
        timeToBlockExpire: blocked === 1 ? Math.max(1, seconds(blockMs)) : 0,
      };
    } catch (error) {
      this.warn(`rate limit not enforced, Redis failed: ${String(error)}`);
      return { totalHits: 0, timeToExpire: 0, isBlocked: false, timeToBlockExpire: 0 };
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private warn(message: string): void {
    const now = Date.now();
    if (now - this.lastWarningAt < WARN_INTERVAL_MS) return;
    this.lastWarningAt = now;
    this.logger.warn(message);
  }
}
