/**
 * The shared servers' outages: RabbitMQ's application stopped and started, PostgreSQL
 * stopped and started. Every run on this machine feels them, so each is short and is
 * always undone (in a `finally`, and by `restoreInfrastructure` when chaos starts).
 */
import { execFile } from 'node:child_process';

/** The longest one rabbitmqctl or pg_ctlcluster command may take. */
const COMMAND_TIMEOUT_MS = 120_000;

function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: COMMAND_TIMEOUT_MS }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')}: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** The local PostgreSQL cluster (version and name), as `pg_lsclusters` lists it first. */
async function cluster(): Promise<{ version: string; name: string; online: boolean }> {
  const [line] = (await run('pg_lsclusters', ['-h'])).trim().split('\n');
  const [version, name, , status] = (line ?? '').split(/\s+/);
  if (!version || !name) throw new Error('pg_lsclusters lists no PostgreSQL cluster');
  return { version, name, online: status === 'online' };
}

async function pgCtl(action: 'start' | 'stop'): Promise<void> {
  const { version, name } = await cluster();
  const mode = action === 'stop' ? ['-m', 'fast'] : [];
  await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, action, ...mode]);
}

async function brokerRunning(): Promise<boolean> {
  return run('rabbitmq-diagnostics', ['-q', 'check_running']).then(
    () => true,
    () => false,
  );
}

/** Stops RabbitMQ's application for `outageMs`, then starts it again, whatever happens. */
export async function brokerOutage(outageMs: number): Promise<void> {
  try {
    await run('rabbitmqctl', ['stop_app']);
    await new Promise((resolve) => setTimeout(resolve, outageMs));
  } finally {
    await run('rabbitmqctl', ['start_app']);
  }
}

/** Stops PostgreSQL (fast: sessions are cut) for `outageMs`, then starts it, whatever happens. */
export async function postgresOutage(outageMs: number): Promise<void> {
  try {
    await pgCtl('stop');
    await new Promise((resolve) => setTimeout(resolve, outageMs));
  } finally {
    await pgCtl('start');
  }
}

/**
 * Starts what an interrupted chaos run may have left stopped (RabbitMQ's application,
 * the PostgreSQL cluster); returns what it started.
 */
export async function restoreInfrastructure(): Promise<string[]> {
  const restored: string[] = [];
  if (!(await brokerRunning())) {
    await run('rabbitmqctl', ['start_app']);
    restored.push('rabbitmq');
  }
  if (!(await cluster()).online) {
    await pgCtl('start');
    restored.push('postgresql');
  }
  return restored;
}
