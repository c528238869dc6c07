import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { readFile } from 'node:fs/promises';
import { startTaskApp, type IsolatedInfrastructure } from '@clearline/testing';
import { BENCH_TASK_OPTIONS } from './bench-queue';
import { whileAlive } from './child-process';
import { spawnWorker } from './clearline-tasks';
import { round, sleep, windowed } from './stats';

/** Sends in flight at once while the backlog is queued. */
const SEND_WINDOW = 1_000;
/** How often the worker's resident memory is sampled. */
const RSS_SAMPLE_MS = 100;
/** How often the stored results are counted while the worker drains. */
const POLL_MS = 100;
/** The whole drain must end within this (100,000 tasks at ~1,000/s would take 100 s). */
const DRAIN_TIMEOUT_MS = 15 * 60_000;
const BYTES_PER_MB = 1024 * 1024;

export interface BacklogFigures {
  count: number;
  /** Tasks over the seconds from the worker's start (spawn) to the last result. */
  drainPerS: number;
  drainS: number;
  /** Seconds from spawn until the worker said it consumes. */
  bootS: number;
  /** The worker process's peak resident memory while it drained. */
  rssMbMax: number;
  /** Its resident memory when it said it consumes, before the work. */
  rssMbReady: number;
}

/** VmRSS of a process in MB, from /proc; undefined once it is gone. */
async function rssMb(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
    return kb === undefined ? undefined : (Number(kb) * 1024) / BYTES_PER_MB;
  } catch {
    return undefined;
  }
}

/** Samples a process's resident memory every RSS_SAMPLE_MS until stopped; keeps the peak. */
function rssSampler(pid: number): { peakMb(): number; stop(): void } {
  let peak = 0;
  const timer = setInterval(() => {
    void rssMb(pid).then((mb) => {
      if (mb !== undefined) peak = Math.max(peak, mb);
    });
  }, RSS_SAMPLE_MS);
  return { peakMb: () => peak, stop: () => clearInterval(timer) };
}

/**
 * Buffering: `count` tasks queued through our `TaskClient` with no worker running, then
 * one worker process started (the bench worker of the throughput run: prefetch 200,
 * concurrency 200, every result stored). Measures how fast it drains the backlog and its
 * peak resident memory (sampled every 100 ms from /proc/<pid>/status), which should stay
 * flat whatever the backlog: the prefetch bounds what the worker holds.
 */
/** The Deployment whose V8 settings the backlog's worker runs with. */
const PRODUCTION_WORKER = resolve(__dirname, '../../../infra/k8s/base/workloads/ledger.yaml');

interface WorkloadDocument {
  kind?: string;
  spec?: {
    template?: { spec?: { containers?: { env?: { name: string; value?: string }[] }[] } };
  };
}

/** NODE_OPTIONS of the ledger's Deployment (`--max-old-space-size`: half its memory limit). */
export function productionNodeOptions(): string {
  const deployment = parseAllDocuments(readFileSync(PRODUCTION_WORKER, 'utf8'))
    .map((document) => document.toJS() as WorkloadDocument | null)
    .find((document) => document?.kind === 'Deployment');
  const value = deployment?.spec?.template?.spec?.containers?.[0]?.env?.find(
    (variable) => variable.name === 'NODE_OPTIONS',
  )?.value;
  if (!value) throw new Error(`no NODE_OPTIONS in ${PRODUCTION_WORKER}`);
  return value;
}

export async function backlogDrain(
  infra: Pick<IsolatedInfrastructure, 'env'>,
  count: number,
): Promise<BacklogFigures> {
  const app = await startTaskApp({ infra, tasks: BENCH_TASK_OPTIONS });
  try {
    const stored = async (): Promise<number> => {
      const rows: { n: string }[] = await app.dataSource.query(
        `SELECT count(*) AS n FROM task_results WHERE state = 'SUCCESS'`,
      );
      return Number(rows[0]?.n ?? 0);
    };
    const before = await stored();
    await windowed(count, SEND_WINDOW, () => app.client.send('bench.noop', {}));

    const started = performance.now();
    // With the heap cap production gives a real-time worker (its Deployment's NODE_OPTIONS).
    const worker = spawnWorker({ ...infra.env, NODE_OPTIONS: productionNodeOptions() });
    const pid = worker.child.pid;
    if (pid === undefined) throw new Error('the bench worker did not start');
    const sampler = rssSampler(pid);
    try {
      const drain = async (): Promise<BacklogFigures> => {
        await worker.ready;
        const bootS = (performance.now() - started) / 1_000;
        const rssMbReady = (await rssMb(pid)) ?? 0;
        const deadline = Date.now() + DRAIN_TIMEOUT_MS;
        while ((await stored()) - before < count) {
          if (Date.now() > deadline) throw new Error('the backlog was not drained in time');
          await sleep(POLL_MS);
        }
        const drainS = (performance.now() - started) / 1_000;
        return {
          count,
          drainPerS: round(count / drainS, 0),
          drainS: round(drainS),
          bootS: round(bootS),
          rssMbMax: round(sampler.peakMb(), 0),
          rssMbReady: round(rssMbReady, 0),
        };
      };
      return await whileAlive(worker.child, 'the bench worker', drain());
    } finally {
      sampler.stop();
      const stopped = new Promise((resolveExit) => worker.child.once('exit', resolveExit));
      if (worker.child.exitCode === null && worker.child.signalCode === null) {
        worker.child.kill('SIGTERM');
        await stopped;
      }
    }
  } finally {
    await app.close();
  }
}
