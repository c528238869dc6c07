import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { sleep } from './wait';

const ROOT = resolve(__dirname, '../../..');
const READY_TIMEOUT_MS = 60_000;

export interface ServiceProcess {
  child: ChildProcess;
  /** SIGTERM (graceful shutdown), then waits for the exit. */
  stop(): Promise<void>;
  /** SIGKILL: the process dies at once, in the middle of whatever it is doing. */
  kill(): Promise<void>;
}

/**
 * Runs a Clearline service the way production does (its own process, `main.ts`), and
 * resolves once its readiness probe answers on `port`.
 */
export async function startService(
  service: string,
  port: number,
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
): Promise<ServiceProcess> {
  const child = spawn(
    process.execPath,
    [...nodeArgs, '-r', '@swc-node/register', resolve(ROOT, `services/${service}/src/main.ts`)],
    { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const state = { exited: false };
  child.once('exit', () => (state.exited = true));
  const exit = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (state.exited) throw new Error(`${service} exited during start-up`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${service} not ready after ${READY_TIMEOUT_MS} ms`);
    }
    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`)
      .then((response) => response.ok)
      .catch(() => false);
    if (ready) break;
    await sleep(100);
  }
  return {
    child,
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
