import { Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { Redis } from 'ioredis';

/** What `ThrottlerStorage.increment` answers (times in seconds, as the guard expects). */
export interface ThrottleRecord {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
}

/**
 * One round trip, atomic on the Redis server: count a hit in the key's fixed window
 * (the window starts with its first hit and lasts `ttl` ms), and say whether the caller
 * is blocked. Over the limit, the caller is blocked for `blockDuration` ms when that is
 * positive, else until the window ends. Replies are in milliseconds.
 *
 * KEYS[1] hit counter, KEYS[2] block marker; ARGV ttl ms, limit, block ms.
 */
export const THROTTLE_SCRIPT = `
local hits = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if hits == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
local blocked = redis.call('PTTL', KEYS[2])
if blocked > 0 then
  return {hits, ttl, 1, blocked}
end
if hits > tonumber(ARGV[2]) then
  local block = tonumber(ARGV[3])
  if block > 0 then
    redis.call('SET', KEYS[2], '1', 'PX', block)
    return {hits, ttl, 1, block}
  end
  return {hits, ttl, 1, ttl}
end
return {hits, ttl, 0, 0}
`;

interface ThrottleCommand {
  clearlineThrottle(
    hitsKey: string,
    blockKey: string,
    ttlMs: number,
    limit: number,
    blockMs: number,
  ): Promise<[number, number, number, number]>;
}

const KEY_PREFIX = 'clearline:rate';
/** A rate-limit check waits this long for Redis before letting the request through. */
const COMMAND_TIMEOUT_MS = 250;
const WARN_INTERVAL_MS = 10_000;
/** How long start-up waits for Redis before serving without it (fail open). */
const CONNECT_WAIT_MS = 3_000;

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
  private lastWarningAt = 0;

  constructor(url: string) {
    this.redis = new Redis(url, {
      connectionName: 'clearline-gateway-rate-limit',
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: 2_000,
      // Commands of concurrent requests leave in one write: a round trip is costly.
      enableAutoPipelining: true,
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
    // The hash tag keeps both keys in one slot of a Redis Cluster.
    const base = `${KEY_PREFIX}:{${throttlerName}:${key}}`;
    try {
      const [hits, ttlMs, blocked, blockMs] = await this.redis.clearlineThrottle(
        `${base}:hits`,
        `${base}:block`,
        ttl,
        limit,
        blockDuration,
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
