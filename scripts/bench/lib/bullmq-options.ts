import { TEST_INFRA } from '@clearline/testing';
import type { ConnectionOptions } from 'bullmq';

/** The BullMQ baseline's queue, under a key prefix of the run (`BENCH_BULLMQ_PREFIX`). */
export const BULLMQ_QUEUE = 'bench';
/** As many jobs in flight in the worker as our bench worker runs tasks at once (its concurrency). */
export const BULLMQ_CONCURRENCY = 200;
/** The line the BullMQ worker prints once it consumes. */
export const BULLMQ_READY_LINE = 'clearline-bench-bullmq-worker ready';

/** The project's Redis (127.0.0.1:6379 unless TEST_REDIS_URL / REDIS_URL say otherwise). */
export function bullmqConnection(): ConnectionOptions {
  const url = new URL(TEST_INFRA.redisUrl);
  return {
    host: url.hostname,
    port: Number(url.port || 6_379),
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
    // BullMQ's blocking connections must retry forever; it refuses a bound here.
    maxRetriesPerRequest: null,
  };
}
