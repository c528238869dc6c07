/**
 * The worker side of the BullMQ baseline in `bench:tasks`, in its own process like ours:
 * a `Worker` on the `bench` queue under `BENCH_BULLMQ_PREFIX`, the same no-op work, with
 * the concurrency of our bench worker. Prints its ready line once it consumes.
 */
import { Worker } from 'bullmq';
import {
  BULLMQ_CONCURRENCY,
  BULLMQ_QUEUE,
  BULLMQ_READY_LINE,
  bullmqConnection,
} from './bullmq-options';

async function main(): Promise<void> {
  const prefix = process.env['BENCH_BULLMQ_PREFIX'];
  if (prefix === undefined || prefix === '') throw new Error('BENCH_BULLMQ_PREFIX is required');
  const worker = new Worker(BULLMQ_QUEUE, () => Promise.resolve(true), {
    connection: bullmqConnection(),
    prefix,
    concurrency: BULLMQ_CONCURRENCY,
  });
  await worker.waitUntilReady();
  process.once('SIGTERM', () => {
    void worker.close().then(() => process.exit(0));
  });
  process.stdout.write(`${BULLMQ_READY_LINE}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
