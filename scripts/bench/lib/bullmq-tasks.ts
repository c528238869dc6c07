import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { deleteRedisKeys } from '@clearline/testing';
import { Queue } from 'bullmq';
import { OutputTail, stopChild, whileAlive } from './child-process';
import { BULLMQ_QUEUE, BULLMQ_READY_LINE, bullmqConnection } from './bullmq-options';
import { round, sleep, windowed, type Throughput } from './stats';

const WORKER = resolve(__dirname, 'bullmq-worker.ts');
const WORKER_READY_TIMEOUT_MS = 60_000;
const WORKER_STOP_GRACE_MS = 10_000;
/** Adds in flight at once, as for our `TaskClient.send` in the same benchmark. */
const ADD_WINDOW = 1_000;
/** How often the completed count is read while the worker drains. */
const POLL_MS = 20;

/** Starts the BullMQ worker process and resolves once it consumes. */
function startBullmqWorker(prefix: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', WORKER], {
    env: { ...process.env, BENCH_BULLMQ_PREFIX: prefix },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail = new OutputTail();
  child.stderr.on('data', (chunk: Buffer) => tail.push(chunk));
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => {
      void stopChild(child, 0);
      reject(new Error(`the BullMQ worker was not ready within ${WORKER_READY_TIMEOUT_MS} ms`));
    }, WORKER_READY_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the BullMQ worker exited with ${String(code)}:\n${tail.text()}`));
    });
    child.stdout.on('data', (chunk: Buffer) => {
      if (!chunk.toString().includes(BULLMQ_READY_LINE)) return;
      clearTimeout(timer);
      resolveReady(child);
    });
  });
}

/**
 * BullMQ on Redis as a baseline for our task layer: the same no-op work, `count` jobs added
 * `ADD_WINDOW` at a time, results kept (`removeOnComplete: false`), one worker process with
 * our worker's concurrency. Throughput is counted from the first add to the last completion,
 * as for ours. Every key of the run (prefix `clearline-bench-<pid>`) is deleted afterwards.
 */
export async function bullmqTasks(count: number): Promise<Throughput> {
  const prefix = `clearline-bench-${process.pid}`;
  const queue = new Queue(BULLMQ_QUEUE, {
    connection: bullmqConnection(),
    prefix,
    defaultJobOptions: { removeOnComplete: false, removeOnFail: false, attempts: 1 },
  });
  let worker: ChildProcess | undefined;
  try {
    await queue.waitUntilReady();
    worker = await startBullmqWorker(prefix);
    const running = worker;
    const run = async (): Promise<number> => {
      const started = performance.now();
      await windowed(count, ADD_WINDOW, () => queue.add('noop', {}));
      for (;;) {
        const failed = await queue.getFailedCount();
        if (failed > 0) throw new Error(`${failed} BullMQ jobs failed`);
        if ((await queue.getCompletedCount()) >= count) break;
        await sleep(POLL_MS);
      }
      return (performance.now() - started) / 1_000;
    };
    const seconds = await whileAlive(running, 'the BullMQ worker', run());
    return { perS: round(count / seconds, 0), count, seconds: round(seconds) };
  } finally {
    if (worker !== undefined) await stopChild(worker, WORKER_STOP_GRACE_MS);
    await queue.close();
    await deleteRedisKeys(`${prefix}:`);
  }
}
