import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { deleteRedisKeys, TEST_INFRA } from '@clearline/testing';
import { Redis } from 'ioredis';
import { OutputTail, runToEnd, stopChild, whileAlive } from './child-process';
import type { CanvasFigures } from './canvas-figures';

const REPO_ROOT = resolve(__dirname, '../../..');
/** The folder of the benchmark's Python files (the Celery app, its drivers). */
export const CELERY_DIR = resolve(__dirname, '../celery');
const ENSURE_SCRIPT = resolve(REPO_ROOT, 'infra/local/python-celery.sh');
/** Debian's python3-celery installs for this interpreter, not for a `python3` on PATH. */
export const PYTHON = '/usr/bin/python3';
/** Celery's own default queue name, in the benchmark's vhost: never one of Clearline's. */
export const CELERY_QUEUE = 'celery';
/** The line `clearline_bench.py` prints once the worker consumes. */
const READY_LINE = 'clearline-bench-celery-worker ready';

const ENSURE_TIMEOUT_MS = 15 * 60_000;
const REDIS_CHECK_TIMEOUT_MS = 5_000;
const WORKER_READY_TIMEOUT_MS = 60_000;
export const WORKER_STOP_GRACE_MS = 30_000;
/** Each wait of the driver (a chord, a chain) has this deadline; the driver as a whole 3×. */
const DRIVER_WAIT_TIMEOUT_S = 900;

/** Installs python3-celery and python3-redis when /usr/bin/python3 cannot import them. */
export async function ensurePythonCelery(): Promise<void> {
  await runToEnd('infra/local/python-celery.sh', 'bash', [ENSURE_SCRIPT], {
    timeoutMs: ENSURE_TIMEOUT_MS,
    echo: true,
  });
}

/** Celery's result backend must answer before a worker is started against it. */
export async function checkRedis(): Promise<void> {
  const redis = new Redis(TEST_INFRA.redisUrl, {
    lazyConnect: true,
    connectionName: 'clearline-bench-check',
    connectTimeout: REDIS_CHECK_TIMEOUT_MS,
    commandTimeout: REDIS_CHECK_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    // The host only: a Redis URL may carry a password.
    const where = new URL(TEST_INFRA.redisUrl).host;
    throw new Error(
      `Redis does not answer at ${where} (infra/local/up.sh starts it): ${String(error)}`,
      { cause: error },
    );
  } finally {
    redis.disconnect();
  }
}

/** The environment of the benchmark's Python processes (clearline_bench.py reads it). */
export function celeryEnv(amqpUrl: string, keyPrefix: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    BENCH_CELERY_BROKER: amqpUrl,
    BENCH_CELERY_BACKEND: TEST_INFRA.redisUrl,
    BENCH_CELERY_KEY_PREFIX: keyPrefix,
    BENCH_CELERY_QUEUE: CELERY_QUEUE,
    // No __pycache__ folders in the working tree.
    PYTHONDONTWRITEBYTECODE: '1',
  };
}

/** Starts a prefork Celery worker (one pool process per core); resolves once it consumes. */
export function startCeleryWorker(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const args = [
    ...['-m', 'celery', '-A', 'clearline_bench', 'worker'],
    ...['--pool', 'prefork', '--concurrency', String(availableParallelism())],
    ...['-Q', CELERY_QUEUE, '--loglevel', 'WARNING'],
    ...['-n', `clearline-bench-${randomBytes(3).toString('hex')}@%h`],
    // Gossip and mingle only talk to other workers of a cluster; there are none.
    ...['--without-gossip', '--without-mingle'],
  ];
  const child = spawn(PYTHON, args, {
    cwd: CELERY_DIR,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail = new OutputTail();
  child.stderr.on('data', (chunk: Buffer) => tail.push(chunk));
  return new Promise((resolveReady, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      void stopChild(child, WORKER_STOP_GRACE_MS).finally(() =>
        reject(new Error(`the Celery worker ${why}:\n${tail.text()}`)),
      );
    };
    const timer = setTimeout(
      () => fail(`was not ready within ${WORKER_READY_TIMEOUT_MS} ms`),
      WORKER_READY_TIMEOUT_MS,
    );
    child.once('error', (error) => fail(`could not start: ${error.message}`));
    child.once('exit', (code) => fail(`exited with ${String(code)}`));
    child.stdout.on('data', (chunk: Buffer) => {
      tail.push(chunk);
      if (!chunk.toString().includes(READY_LINE)) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolveReady(child);
    });
  });
}

interface DriverLine {
  chord_n: number;
  chord_s: number;
  chain_n: number;
  chain_s: number;
  chain_link_ms: number;
}

/** Runs drive.py (warm-up, then the chord and the chain) and reads its JSON line. */
async function drive(
  env: NodeJS.ProcessEnv,
  chordN: number,
  chainN: number,
  abort: AbortSignal,
): Promise<DriverLine> {
  const args = ['drive.py', '--chord', String(chordN), '--chain', String(chainN)];
  const { stdout, tail } = await runToEnd(
    'drive.py',
    PYTHON,
    [...args, '--timeout-s', String(DRIVER_WAIT_TIMEOUT_S)],
    { cwd: CELERY_DIR, env, timeoutMs: 3 * DRIVER_WAIT_TIMEOUT_S * 1_000, abort },
  );
  const last = stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(last) as DriverLine;
  } catch {
    throw new Error(`drive.py printed no JSON line:\n${tail.text()}`);
  }
}

/**
 * Python Celery 5 (Debian's python3-celery) doing the same canvas as Clearline: a
 * prefork worker on the benchmark's vhost (queue `celery`), results in Redis under a key
 * prefix of this run, deleted afterwards.
 */
export async function pythonCelery(
  amqpUrl: string,
  chordN: number,
  chainN: number,
): Promise<CanvasFigures> {
  await ensurePythonCelery();
  await checkRedis();
  const keyPrefix = `clearline_bench_celery_${randomBytes(3).toString('hex')}:`;
  const env = celeryEnv(amqpUrl, keyPrefix);
  try {
    const worker = await startCeleryWorker(env);
    const driving = new AbortController();
    try {
      const line = await whileAlive(
        worker,
        'the Celery worker',
        drive(env, chordN, chainN, driving.signal),
      );
      return { chordS: line.chord_s, chainLinkMs: line.chain_link_ms };
    } finally {
      driving.abort();
      await stopChild(worker, WORKER_STOP_GRACE_MS);
    }
  } finally {
    await deleteRedisKeys(keyPrefix);
  }
}
