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

/**
 * Whether a caller is blocked, without counting a hit: the ms left of the block
 * `THROTTLE_SCRIPT` set (a throttler with a block duration), or 0. KEYS[1] the block
 * marker; ARGV now ms or ''.
 */
export const BLOCKED_SCRIPT = `
local now = tonumber(ARGV[1])
if not now then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
local blockedUntil = tonumber(redis.call('GET', KEYS[1]))
if blockedUntil and blockedUntil > now then
  return blockedUntil - now
end
return 0
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
  clearlineBlocked(blockKey: string, nowMs: string): Promise<number>;
}

/**
 * What a rate limit does when Redis cannot answer: `open` lets the request through (and
 * logs a warning, at most every 10 s), `closed` refuses it (`RateLimitUnavailableError`).
 */
export type RedisFailurePolicy = 'open' | 'closed';

/** Redis did not answer a rate-limit check in time and the policy is `closed`. */
export class RateLimitUnavailableError extends Error {
  override readonly name = 'RateLimitUnavailableError';
}

/** A rate-limit check waits this long for Redis before its failure policy decides. */
export const RATE_LIMIT_COMMAND_TIMEOUT_MS = 250;
/**
 * How long a counter outlives its window before Redis collects it. Only a caller's clock
 * that runs behind Redis's (a test's) needs it; it bounds memory all the same.
 */
export const KEY_GRACE_MS = 10_000;
const WARN_INTERVAL_MS = 10_000;
/** How long start-up waits for Redis before serving without it (as the policy says). */
const CONNECT_WAIT_MS = 3_000;

export interface RedisThrottlerStorageOptions {
  url: string;
  /** `REDIS_KEY_PREFIX`, before every key. */
  keyPrefix: string;
  /** Where the time comes from (Redis's clock unless a test says otherwise). */
  clock?: RateLimitClock;
  /** `RATE_LIMIT_REDIS_FAILURE`; `open` unless given. */
  whenRedisFails?: RedisFailurePolicy;
}

/**
 * The start of a caller's keys. The hash tag keeps the window and block keys in one slot
 * of a Redis Cluster (the deployment's prefix, put before them by the client, has no
 * braces).
 */
function keyBase(throttlerName: string, key: string): string {
  return `rate:{${throttlerName}:${key}}`;
}

function seconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1_000));
}

/**
 * @nestjs/throttler's storage in Redis, so every gateway replica counts against the
 * same limits (@nest-lab/throttler-storage-redis does not support Nest 12).
 *
 * If Redis is unreachable, or does not answer within RATE_LIMIT_COMMAND_TIMEOUT_MS, the
 * policy decides: `open` lets the request through and logs a warning at most every
 * 10 s (the rate limit must not take the payment API down); `closed` throws
 * `RateLimitUnavailableError` (no request goes unlimited), which the guards answer 503.
 */
export class RedisThrottlerStorage
  implements ThrottlerStorage, OnModuleInit, OnApplicationShutdown
{
  private readonly logger = new Logger(RedisThrottlerStorage.name);
  private readonly redis: Redis & ThrottleCommand;
  private readonly clock: RateLimitClock;
  private readonly whenRedisFails: RedisFailurePolicy;
  /** When each kind of warning was last logged: connection errors, and what the policy did. */
  private readonly lastWarningAt: Record<'connection' | 'policy', number> = {
    connection: 0,
    policy: 0,
  };

  constructor(options: RedisThrottlerStorageOptions) {
    this.clock = options.clock ?? new RateLimitClock();
    this.whenRedisFails = options.whenRedisFails ?? 'open';
    this.redis = connectRedis({
      url: options.url,
      keyPrefix: options.keyPrefix,
      connectionName: 'clearline-gateway-rate-limit',
      commandTimeoutMs: RATE_LIMIT_COMMAND_TIMEOUT_MS,
    }) as Redis & ThrottleCommand;
    this.redis.defineCommand('clearlineThrottle', { numberOfKeys: 2, lua: THROTTLE_SCRIPT });
    this.redis.defineCommand('clearlineBlocked', { numberOfKeys: 1, lua: BLOCKED_SCRIPT });
    this.redis.on('error', (error: Error) => {
      this.warn('connection', `Redis: ${error.message}`);
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
    if (!connected) {
      this.warn(
        'policy',
        this.whenRedisFails === 'open'
          ? 'Redis is not reachable yet: rate limits are not enforced until it is'
          : 'Redis is not reachable yet: rate-limited requests answer 503 until it is',
      );
    }
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottleRecord> {
    const base = keyBase(throttlerName, key);
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
      this.redisFailed(error);
      return { totalHits: 0, timeToExpire: 0, isBlocked: false, timeToBlockExpire: 0 };
    }
  }

  /**
   * How long the caller is still blocked by a throttler with a block duration, in ms (0
   * if not), without counting a hit: for a check that must come before costly work.
   */
  async blockedForMs(key: string, throttlerName: string): Promise<number> {
    const now = this.clock.nowMs();
    try {
      return await this.redis.clearlineBlocked(
        `${keyBase(throttlerName, key)}:block`,
        now === null ? '' : String(now),
      );
    } catch (error) {
      this.redisFailed(error);
      return 0;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** Applies the failure policy: throws when closed, else warns (rate-limited) and returns. */
  private redisFailed(error: unknown): void {
    if (this.whenRedisFails === 'closed') {
      this.warn('policy', `rate-limited requests refused, Redis failed: ${String(error)}`);
      throw new RateLimitUnavailableError(`Redis failed: ${String(error)}`);
    }
    this.warn('policy', `rate limit not enforced, Redis failed: ${String(error)}`);
  }

  /** Logs at most one warning of each kind every WARN_INTERVAL_MS: an outage is not a flood. */
  private warn(kind: 'connection' | 'policy', message: string): void {
    const now = Date.now();
    if (now - this.lastWarningAt[kind] < WARN_INTERVAL_MS) return;
    this.lastWarningAt[kind] = now;
    this.logger.warn(message);
  }
}
