import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { sleep } from './stats';

const ROOT = resolve(__dirname, '../../..');

export interface ServiceProcess {
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Runs a Clearline service the way production does (its own process, `main.ts`), and
 * resolves once its readiness probe answers on `port`.
 */
export async function startService(
  service: string,
  port: number,
  env: Record<string, string>,
): Promise<ServiceProcess> {
  const child = spawn(
    process.execPath,
    ['-r', '@swc-node/register', resolve(ROOT, `services/${service}/src/main.ts`)],
    { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const state = { exited: false };
  child.once('exit', () => (state.exited = true));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (state.exited) throw new Error(`${service} exited during start-up`);
    if (Date.now() > deadline) throw new Error(`${service} not ready after 60 s`);
    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`)
      .then((response) => response.ok)
      .catch(() => false);
    if (ready) break;
    await sleep(100);
  }
  return {
    child,
    stop: async () => {
      if (state.exited) return;
      const gone = new Promise((resolveExit) => child.once('exit', resolveExit));
      child.kill('SIGTERM');
      await gone;
    },
  };
}
