import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { deleteRedisKeys, TEST_INFRA } from '@clearline/testing';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import type { BenchInfra } from './bench-infra';
import { BENCH_QUEUE } from './bench-queue';
import { OutputTail, stopChild, whileAlive } from './child-process';
import { spawnWorker } from './clearline-tasks';
import {
  CELERY_DIR,
  CELERY_QUEUE,
  celeryEnv,
  checkRedis,
  ensurePythonCelery,
  PYTHON,
  startCeleryWorker,
  WORKER_STOP_GRACE_MS,
} from './python-celery';
import { round, sleep } from './stats';

/** Tasks sent and completed before each measured run: connections, pools and JIT warm. */
const WARM_UP_COUNT = 1_000;
/** How often each side's completed tasks are counted (the same for both). */
const POLL_MS = 10;
const SENDER_READY_TIMEOUT_MS = 60_000;
const WORKER_READY_TIMEOUT_MS = 60_000;
/** The deadline of one run: its sends, and the last completion. */
const RUN_TIMEOUT_MS = 10 * 60_000;
const QUERY_TIMEOUT_MS = 5_000;
/** clearline_bench.py's NOOP_DONE_KEY, after the run's key prefix. */
const NOOP_DONE_KEY = 'noop-done';

type Target = 'clearline' | 'celery';

/** One target's figures: N tasks from the Python client until the last one completed. */
export interface PythonClientRun {
  count: number;
  /** N over the seconds from the first send until the last task completed on the worker. */
  perS: number;
  seconds: number;
  /** How fast the client sent them (send.py's own timing): the ceiling of `perS`. */
  sendPerS: number;
}

export interface PythonClientFigures {
  toClearline: PythonClientRun;
  toCelery: PythonClientRun;
}

/** Resolves with `work`, or rejects once `timeoutMs` has passed. */
async function within<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The Python client (celery/send.py), driven one command a line over its stdin. */
class PythonSender {
  private readonly tail = new OutputTail();
  private readonly lines: string[] = [];
  private readonly changed = new EventEmitter();

  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.tail.push(line);
      this.lines.push(line);
      this.changed.emit('change');
    });
    child.stderr!.on('data', (chunk: Buffer) => this.tail.push(chunk));
    child.once('exit', () => this.changed.emit('change'));
  }

  /** Starts send.py for one target; resolves once its broker connection is open. */
  static async start(target: Target, env: NodeJS.ProcessEnv): Promise<PythonSender> {
    const child = spawn(PYTHON, ['send.py', '--target', target], {
      cwd: CELERY_DIR,
      env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const sender = new PythonSender(child);
    try {
      const line = await sender.nextLine(SENDER_READY_TIMEOUT_MS);
      if (line !== 'ready') throw new Error(`send.py said ${JSON.stringify(line)}, not ready`);
      return sender;
    } catch (error) {
      await sender.stop();
      throw error;
    }
  }

  /** Sends `count` tasks; resolves with the seconds send.py took to send them. */
  async send(count: number): Promise<number> {
    this.child.stdin!.write(`send ${count}\n`);
    const [word, sent, seconds] = (await this.nextLine(RUN_TIMEOUT_MS)).split(' ');
    if (word !== 'sent' || Number(sent) !== count || seconds === undefined) {
      throw new Error(`send.py did not confirm ${count} sends:\n${this.tail.text()}`);
    }
    return Number(seconds);
  }

  /** Closes its stdin (it exits at the end of it), then makes sure its group is gone. */
  async stop(): Promise<void> {
    this.child.stdin!.end();
    await stopChild(this.child, WORKER_STOP_GRACE_MS);
  }

  private nextLine(timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const line = this.lines.shift();
        if (line !== undefined) {
          done();
          resolve(line);
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          done();
          reject(new Error(`send.py exited before answering:\n${this.tail.text()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`send.py did not answer within ${timeoutMs} ms:\n${this.tail.text()}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.changed.off('change', check);
      };
      this.changed.on('change', check);
      check();
    });
  }
}

/** A promise that never settles: a race's branch that may only end it by failing. */
const never = new Promise<never>(() => undefined);

/** Counts the tasks completed on one side so far; see {@link pythonClient} for what counts. */
type Completed = () => Promise<number>;

async function untilCompleted(completed: Completed, total: number): Promise<void> {
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  while ((await completed()) < total) {
    if (Date.now() > deadline) {
      throw new Error(`${total} tasks were not completed within ${RUN_TIMEOUT_MS} ms`);
    }
    await sleep(POLL_MS);
  }
}

/**
 * A warm-up batch, then the measured one: the clock starts as the client is told to send
 * and stops at the first count that includes the last task.
 */
async function measure(
  sender: PythonSender,
  completed: Completed,
  count: number,
): Promise<PythonClientRun> {
  const warmUp = Math.min(WARM_UP_COUNT, count);
  const beforeWarmUp = await completed();
  await sender.send(warmUp);
  await untilCompleted(completed, beforeWarmUp + warmUp);

  const before = await completed();
  const started = performance.now();
  const sending = sender.send(count);
  // A failed send also ends the wait below (the client exits); its error is the one to see.
  sending.catch(() => undefined);
  await Promise.race([untilCompleted(completed, before + count), sending.then(() => never)]);
  const seconds = (performance.now() - started) / 1_000;
  const sendS = await sending;
  return {
    count,
    perS: round(count / seconds, 0),
    seconds: round(seconds, 3),
    sendPerS: round(count / sendS, 0),
  };
}

function senderEnv(amqpUrl: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    BENCH_CELERY_BROKER: amqpUrl,
    BENCH_CELERY_QUEUE: CELERY_QUEUE,
    BENCH_CLEARLINE_QUEUE: BENCH_QUEUE,
    // No __pycache__ folders in the working tree.
    PYTHONDONTWRITEBYTECODE: '1',
  };
}

/**
 * Stops the bench worker (spawned in our process group, so not `stopChild`): SIGTERM, its
 * graceful shutdown, then SIGKILL if it has not exited within the grace.
 */
async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), WORKER_STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/** The Python client to our bench worker; a task is complete once its SUCCESS row is committed. */
async function toClearline(infra: BenchInfra, count: number): Promise<PythonClientRun> {
  const worker = spawnWorker(infra.env);
  try {
    await within(worker.ready, WORKER_READY_TIMEOUT_MS, 'the bench worker was not ready');
    const db = new Client({
      connectionString: infra.databaseUrl,
      application_name: 'clearline-bench-python-client',
      connectionTimeoutMillis: QUERY_TIMEOUT_MS,
      query_timeout: QUERY_TIMEOUT_MS,
    });
    await db.connect();
    try {
      // Only this part's results: earlier parts of the run stored theirs in the same table.
      const since = await db.query<{ t: string }>(`SELECT clock_timestamp()::text AS t`);
      const completed: Completed = async () => {
        const { rows } = await db.query<{ n: string }>(
          `SELECT count(*) AS n FROM task_results
            WHERE state = 'SUCCESS' AND updated_at >= $1::timestamptz`,
          [since.rows[0]!.t],
        );
        return Number(rows[0]!.n);
      };
      const sender = await PythonSender.start('clearline', senderEnv(infra.amqpUrl));
      try {
        return await whileAlive(
          worker.child,
          'the bench worker',
          measure(sender, completed, count),
        );
      } finally {
        await sender.stop();
      }
    } finally {
      await db.end();
    }
  } finally {
    await stopWorker(worker.child);
  }
}

/** The Python client to a Python Celery worker; a task is complete once its result is in Redis. */
async function toCelery(amqpUrl: string, count: number): Promise<PythonClientRun> {
  const keyPrefix = `clearline_bench_celery_${randomBytes(3).toString('hex')}:`;
  const redis = new Redis(TEST_INFRA.redisUrl, {
    connectionName: 'clearline-bench-python-client',
    connectTimeout: QUERY_TIMEOUT_MS,
    commandTimeout: QUERY_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
  });
  try {
    const completed: Completed = async () =>
      Number((await redis.get(`${keyPrefix}${NOOP_DONE_KEY}`)) ?? 0);
    const worker = await startCeleryWorker(celeryEnv(amqpUrl, keyPrefix));
    try {
      const sender = await PythonSender.start('celery', senderEnv(amqpUrl));
      try {
        return await whileAlive(worker, 'the Celery worker', measure(sender, completed, count));
      } finally {
        await sender.stop();
      }
    } finally {
      await stopChild(worker, WORKER_STOP_GRACE_MS);
    }
  } finally {
    redis.disconnect();
    await deleteRedisKeys(keyPrefix);
  }
}

/**
 * A plain Python Celery client (celery/send.py: `app.send_task('bench.noop', queue=…)`,
 * one thread) sending `count` no-op tasks, after a warm-up, to our bench worker
 * (bench-worker.ts, queue `bench`, results in PostgreSQL) and then to a Python Celery
 * prefork worker (clearline_bench.py, queue `celery`, results in Redis), both in the
 * benchmark's vhost, one worker running at a time.
 *
 * Throughput is count / seconds from the first send until the last task completed, and
 * completed means the same on both sides: the task's result is in its worker's result
 * store. On ours, the SUCCESS rows committed since this part began (the worker acks only
 * after that commit); on Celery's, a Redis counter each pool process increments after
 * Celery stored the task's result (`task_success`, sent after `mark_as_done`). Both are
 * read every POLL_MS from here.
 */
export async function pythonClient(infra: BenchInfra, count: number): Promise<PythonClientFigures> {
  await ensurePythonCelery();
  await checkRedis();
  return {
    toClearline: await toClearline(infra, count),
    toCelery: await toCelery(infra.amqpUrl, count),
  };
}
