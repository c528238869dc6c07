import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { startTaskApp, type IsolatedInfrastructure } from '@clearline/testing';
import { BENCH_TASK_OPTIONS } from './bench-queue';
import { latency, paced, round, sleep, windowed, type Latency, type Throughput } from './stats';

const WORKER = resolve(__dirname, 'bench-worker.ts');

/** BENCH_PROFILE_DIR=<dir> writes a V8 CPU profile of the worker process there. */
function profileArgs(): string[] {
  const dir = process.env['BENCH_PROFILE_DIR'];
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

/** The bench worker's process, and when it consumes. */
export interface SpawnedWorker {
  child: ChildProcess;
  /** Resolves once the worker consumes; rejects if it exits first. */
  ready: Promise<void>;
}

/** Starts the bench worker (`bench-worker.ts`) as its own process, as in production. */
export function spawnWorker(env: Record<string, string>): SpawnedWorker {
  const child = spawn(process.execPath, [...profileArgs(), '-r', '@swc-node/register', WORKER], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = new Promise<void>((resolveReady, reject) => {
    child.once('exit', (code) => reject(new Error(`bench worker exited with ${String(code)}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolveReady();
    });
  });
  // A rejection after the worker was ready (its exit at the end) is expected.
  ready.catch(() => undefined);
  return { child, ready };
}

/** Starts the worker process and resolves once it consumes. */
async function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  const { child, ready } = spawnWorker(env);
  await ready;
  return child;
}

export interface ClearlineFigures {
  throughput: Throughput;
  paced: Latency;
  rttP99Ms: number;
  rttP50Ms: number;
}

/**
 * Our task layer end to end: `TaskClient.send` (confirmed publish), the `@Task` worker
 * (acks after the SUCCESS row is committed), every result stored in PostgreSQL.
 * Throughput counts until the last result is committed; latency is send → result
 * available to the caller (woken by NOTIFY).
 */
export async function clearlineTasks(
  infra: Pick<IsolatedInfrastructure, 'env'>,
  count: number,
  pacedCount: number,
  rttCount: number,
): Promise<ClearlineFigures> {
  const worker = await startWorker(infra.env);
  const app = await startTaskApp({
    infra: {
      ...infra,
      name: 'bench',
      amqpUrl: '',
      databaseUrl: '',
      destroy: () => Promise.resolve(),
    },
    tasks: BENCH_TASK_OPTIONS,
  });
  const countSuccess = async (): Promise<number> => {
    const rows: { n: string }[] = await app.dataSource.query(
      `SELECT count(*) AS n FROM task_results WHERE state = 'SUCCESS'`,
    );
    return Number(rows[0]?.n ?? 0);
  };

  const started = performance.now();
  await windowed(count, 1_000, () => app.client.send('bench.noop', {}));
  while ((await countSuccess()) < count) await sleep(20);
  const seconds = (performance.now() - started) / 1_000;

  const samples = await paced(pacedCount, 1_000, async () => {
    const t0 = performance.now();
    const handle = await app.client.send('bench.noop', {});
    await handle.result({ timeoutMs: 30_000 });
    return performance.now() - t0;
  });

  const rtt: number[] = [];
  for (let i = 0; i < rttCount; i += 1) {
    const t0 = performance.now();
    const handle = await app.client.send('bench.noop', {});
    await handle.result({ timeoutMs: 30_000 });
    rtt.push(performance.now() - t0);
  }
  await app.close();
  const stopped = new Promise((resolveExit) => worker.once('exit', resolveExit));
  worker.kill('SIGTERM');
  await stopped;
  const rttLatency = latency(rtt);
  return {
    throughput: { perS: round(count / seconds, 0), count, seconds: round(seconds) },
    paced: latency(samples),
    rttP99Ms: rttLatency.p99Ms,
    rttP50Ms: rttLatency.p50Ms,
  };
}
