import { envAs } from './broker-users';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { basename, join, resolve } from 'node:path';
import { finished } from 'node:stream/promises';
import { RUN_ID_ENV } from './infrastructure';
import { ensureRunLogDirectory } from './log-scan';
import { sleep } from './wait';

const ROOT = resolve(__dirname, '../../..');
/** Start-up compiles the service with SWC: slow on a loaded machine, never this slow. */
const READY_TIMEOUT_MS = 90_000;
const READY_POLL_MS = 100;
/** A readiness probe that does not answer within this is asked again. */
const PROBE_TIMEOUT_MS = 2_000;
/** The last lines a service printed, shown when it fails to start. */
const OUTPUT_LINES_KEPT = 40;
/** A port taken between `freePort()` and the service's listen is tried again this often. */
const PORT_ATTEMPTS_MAX = 3;

/**
 * For a Jest hook or test that starts service processes: on a loaded two-core machine a
 * start (SWC compiling the service, Nest booting, topology declared) takes tens of
 * seconds, more than Jest's 60 s default when several start together.
 */
export const SERVICE_START_TIMEOUT_MS = 180_000;

export interface ServiceProcess {
  child: ChildProcess;
  /** The HTTP port (health, metrics and, for the gateway, the API). */
  port: number;
  /**
   * The file holding everything the process wrote (stdout and stderr), in the run's log
   * directory; complete once `stop()` or `kill()` resolved. Null outside a Jest run.
   */
  logFile: string | null;
  /** SIGTERM (graceful shutdown), then waits for the exit. */
  stop(): Promise<void>;
  /** SIGKILL: the process dies at once, in the middle of whatever it is doing. */
  kill(): Promise<void>;
}

/** A TCP port nothing listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolveListen);
  });
  const address = server.address();
  await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
  if (address === null || typeof address === 'string') throw new Error('no port assigned');
  return address.port;
}

/** Keeps the last lines a process wrote, for the message of a failed start. */
function outputTail(child: ChildProcess): () => string {
  const lines: string[] = [];
  const keep = (chunk: Buffer): void => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    lines.splice(0, Math.max(0, lines.length - OUTPUT_LINES_KEPT));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', (chunk: Buffer) => {
    keep(chunk);
    process.stderr.write(chunk);
  });
  return () => lines.join('\n');
}

/** The test file that starts a process, when Jest runs it (for the log file's name). */
function testFileName(): string {
  const jestExpect = (globalThis as { expect?: { getState?: () => { testPath?: string } } }).expect;
  const path = jestExpect?.getState?.().testPath;
  return path ? basename(path).replace(/\.ts$/, '') : 'unknown';
}

let logFileCount = 0;

/**
 * Where a process's whole output goes: a file of the Jest run's log directory, which the
 * global teardown scans for card numbers (`log-scan.ts`). Null outside a Jest run
 * (benchmarks).
 */
async function logFilePath(service: string): Promise<string | null> {
  const run = process.env[RUN_ID_ENV];
  if (!run) return null;
  logFileCount += 1;
  const name = `${testFileName()}.${service}.${process.pid}-${logFileCount}.log`;
  return join(await ensureRunLogDirectory(run), name);
}

/**
 * Copies all a process writes, stdout and stderr, to `path` (attached before its first
 * chunk can flow). Settles once the file holds everything: the process closed its output.
 */
function keepOutput(child: ChildProcess, path: string | null): Promise<void> {
  if (path === null) return Promise.resolve();
  const file = createWriteStream(path, { flags: 'a' });
  child.stdout?.pipe(file, { end: false });
  child.stderr?.pipe(file, { end: false });
  child.once('close', () => file.end());
  return finished(file);
}

async function ready(port: number): Promise<boolean> {
  return fetch(`http://127.0.0.1:${port}/health/ready`, {
    signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
  })
    .then((response) => response.ok)
    .catch(() => false);
}

/**
 * Runs a Clearline service the way production does (its own process, `main.ts`), and
 * resolves once its readiness probe answers on `port` (the service must be told the
 * same port in `env`, as `<SERVICE>_PORT`). Its stderr is shown; its stdout (JSON logs)
 * only when it fails to start. Both go to its `logFile` in a Jest run.
 */
export async function startService(
  service: string,
  port: number,
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
): Promise<ServiceProcess> {
  const logFile = await logFilePath(service);
  const child = spawn(
    process.execPath,
    [...nodeArgs, '-r', '@swc-node/register', resolve(ROOT, `services/${service}/src/main.ts`)],
    // As in production, the service connects to the broker as its own user.
    {
      cwd: ROOT,
      env: { ...process.env, ...envAs(env, service) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const tail = outputTail(child);
  const logWritten = keepOutput(child, logFile);
  const state = { exited: false };
  const exited = new Promise<void>((resolveExit) =>
    child.once('exit', () => {
      state.exited = true;
      resolveExit();
    }),
  );
  // Done when the process is gone and its log file holds all it wrote.
  const exit = Promise.all([exited, logWritten]).then(() => undefined);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (state.exited) throw new Error(`${service} exited during start-up:\n${tail()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exit;
      throw new Error(`${service} not ready after ${READY_TIMEOUT_MS} ms:\n${tail()}`);
    }
    if (await ready(port)) break;
    await sleep(READY_POLL_MS);
  }
  return {
    child,
    port,
    logFile,
    stop: async () => {
      if (!state.exited) child.kill('SIGTERM');
      await exit;
    },
    kill: async () => {
      if (!state.exited) child.kill('SIGKILL');
      await exit;
    },
  };
}

/**
 * `startService` on a free port, passed to the service as `<SERVICE>_PORT`; a port
 * another process took in the meantime is replaced by a new one.
 */
export async function startServiceOnFreePort(
  service: string,
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
): Promise<ServiceProcess> {
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    try {
      return await startService(
        service,
        port,
        { ...env, [`${service.toUpperCase()}_PORT`]: String(port) },
        nodeArgs,
      );
    } catch (error) {
      const portTaken = error instanceof Error && error.message.includes('EADDRINUSE');
      if (!portTaken || attempt >= PORT_ATTEMPTS_MAX) throw error;
    }
  }
}
