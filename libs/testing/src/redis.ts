import { Redis } from 'ioredis';
import { TEST_INFRA } from './infrastructure';

/** Keys are deleted in batches of this many (one SCAN page, one UNLINK). */
const SCAN_PAGE_SIZE = 500;

/**
 * Deletes every key of the test Redis that starts with `prefix` (a test file's
 * `REDIS_KEY_PREFIX`, or a whole run's), so nothing a test counted outlives it.
 */
export async function deleteRedisKeys(prefix: string): Promise<number> {
  if (prefix === '' || /[*?[\]\\]/.test(prefix)) {
    throw new Error(`refusing to delete Redis keys by the prefix ${JSON.stringify(prefix)}`);
  }
  const redis = new Redis(TEST_INFRA.redisUrl, {
    connectionName: 'clearline-test-cleanup',
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
    commandTimeout: 10_000,
  });
  try {
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', SCAN_PAGE_SIZE);
      if (keys.length > 0) deleted += await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
    return deleted;
  } finally {
    redis.disconnect();
  }
}
