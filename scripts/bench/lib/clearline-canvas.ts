import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { chain, chord, group, signature, type TaskClient } from '@clearline/tasks';
import { startTaskApp } from '@clearline/testing';
import type { BenchInfra } from './bench-infra';
import { BENCH_TASK_OPTIONS } from './bench-queue';
import type { CanvasFigures, Tally } from './canvas-figures';
import { OutputTail, stopChild, whileAlive } from './child-process';
import { round } from './stats';

const WORKER = resolve(__dirname, 'canvas-worker.ts');
const WORKER_READY_TIMEOUT_MS = 60_000;
const WORKER_STOP_GRACE_MS = 30_000;
/** The deadline of each chord or chain (the same as the Python driver's). */
const WORKFLOW_TIMEOUT_MS = 900_000;
/** Small runs first, as on the Celery side: pools, connections and JIT warmed up. */
const WARM_UP_CHORD = 200;
const WARM_UP_CHAIN = 20;

/** Starts the canvas worker process (spawned `detached`); resolves once it consumes. */
function startCanvasWorker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', WORKER], {
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail = new OutputTail();
  child.stderr.on('data', (chunk: Buffer) => {
    tail.push(chunk);
    process.stderr.write(chunk);
  });
  return new Promise((resolveReady, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      void stopChild(child, WORKER_STOP_GRACE_MS).finally(() =>
        reject(new Error(`the canvas worker ${why}:\n${tail.text()}`)),
      );
    };
    const timer = setTimeout(
      () => fail(`was not ready within ${WORKER_READY_TIMEOUT_MS} ms`),
      WORKER_READY_TIMEOUT_MS,
    );
    child.once('exit', (code) => fail(`exited with ${String(code)}`));
    child.stdout.on('data', (chunk: Buffer) => {
      if (!chunk.toString().includes('ready')) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolveReady(child);
    });
  });
}

/** `chord([ident(0) … ident(n-1)], tally)`: seconds from send to the callback's result. */
async function runChord(client: TaskClient, members: number): Promise<number> {
  const header = group(
    Array.from({ length: members }, (_, i) => signature('bench.ident', {}, { args: [i] })),
  );
  const canvas = chord(header, signature('bench.tally'));
  const started = performance.now();
  const handle = await client.apply(canvas);
  const tally = (await handle.result({ timeoutMs: WORKFLOW_TIMEOUT_MS })) as Tally;
  const seconds = (performance.now() - started) / 1_000;
  const sum = (members * (members - 1)) / 2;
  if (tally.sum !== sum || tally.count !== members) {
    throw new Error(`chord of ${members}: got ${JSON.stringify(tally)}, expected sum ${sum}`);
  }
  return seconds;
}

/** `chain(inc(0), inc, …)` of n links: seconds from send to the last link's result (n). */
async function runChain(client: TaskClient, links: number): Promise<number> {
  const rest = Array.from({ length: links - 1 }, () => signature('bench.inc'));
  const canvas = chain(signature('bench.inc', {}, { args: [0] }), ...rest);
  const started = performance.now();
  const handle = await client.apply(canvas);
  const result = await handle.result({ timeoutMs: WORKFLOW_TIMEOUT_MS });
  const seconds = (performance.now() - started) / 1_000;
  if (result !== links) {
    throw new Error(`chain of ${links}: got ${JSON.stringify(result)}, expected ${links}`);
  }
  return seconds;
}

/** Warms up with a small chord and chain, then runs the measured ones. */
async function measure(client: TaskClient, chordN: number, chainN: number): Promise<CanvasFigures> {
  await runChord(client, Math.min(WARM_UP_CHORD, chordN));
  await runChain(client, Math.min(WARM_UP_CHAIN, chainN));
  const chordS = await runChord(client, chordN);
  const chainS = await runChain(client, chainN);
  return { chordS: round(chordS, 3), chainLinkMs: round((1_000 * chainS) / chainN, 3) };
}

/**
 * Clearline doing the same canvas as Python Celery: a worker process of its own
 * (`canvas-worker.ts`), the workflows sent with `TaskClient.apply` from this process,
 * every result (and the chord's join) in PostgreSQL.
 */
export async function clearlineCanvas(
  infra: Pick<BenchInfra, 'env'>,
  chordN: number,
  chainN: number,
): Promise<CanvasFigures> {
  const worker = await startCanvasWorker(infra.env);
  try {
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
    try {
      return await whileAlive(worker, 'the canvas worker', measure(app.client, chordN, chainN));
    } finally {
      await app.close();
    }
  } finally {
    await stopChild(worker, WORKER_STOP_GRACE_MS);
  }
}
