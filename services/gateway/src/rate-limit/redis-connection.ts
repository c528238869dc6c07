import { Redis } from 'ioredis';

export interface RedisConnectionOptions {
  url: string;
  /** `REDIS_KEY_PREFIX`: put before every key (and every key a script names) by ioredis. */
  keyPrefix: string;
  /** Shown by `CLIENT LIST`, so operators can tell the gateway's connections apart. */
  connectionName: string;
  /** The longest a command waits for Redis before it fails. */
  commandTimeoutMs: number;
}

/**
 * The one place the gateway opens Redis. Every key this client sends, including the
 * KEYS of a Lua script, starts with the deployment's prefix, so two deployments (or two
 * test files) sharing a Redis never touch each other's keys; code that uses the client
 * names keys without it. The prefix holds no braces (the environment schema refuses
 * them), so a key's `{hash tag}` still decides its Cluster slot. (Should the gateway
 * move to `Redis.Cluster`, `keyPrefix` goes in the Cluster's own options: ioredis
 * ignores it in `redisOptions`.)
 *
 * Commands are not queued while Redis is away: a caller fails at once and decides
 * what that means (the rate limit: RATE_LIMIT_REDIS_FAILURE).
 */
export function connectRedis(options: RedisConnectionOptions): Redis {
  return new Redis(options.url, {
    keyPrefix: options.keyPrefix,
    connectionName: options.connectionName,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: 2_000,
    // Commands of concurrent requests leave in one write: a round trip is costly.
    enableAutoPipelining: true,
  });
}
