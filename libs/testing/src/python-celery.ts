/**
 * Real Python Celery in tests: Debian's python3-celery for /usr/bin/python3, installed by
 * the same script the benchmark runs (infra/local/python-celery.sh), and a Celery worker
 * started as a child process on a test file's vhost, ready once it consumes, with
 * everything it logged kept for assertions.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');
const ENSURE_SCRIPT = resolve(ROOT, 'infra/local/python-celery.sh');
/** Debian's python3-celery installs for this interpreter, not for a `python3` on PATH. */
export const PYTHON = '/usr/bin/python3';
/** An install (apt-get update and install) may take minutes on a fresh machine. */
export const PYTHON_CELERY_INSTALL_TIMEOUT_MS = 10 * 60_000;
const WORKER_READY_TIMEOUT_MS = 30_000;
const WORKER_STOP_GRACE_MS = 10_000;
/** What a worker's log keeps at most (from its start): far more than a test file writes. */
const LOG_CHARS_MAX = 1_000_000;

/**
 * Makes sure /usr/bin/python3 imports Celery, installing Debian's packages when it does not
 * (the script is idempotent and prints one line when all is there). Rejects with the
 * script's output if it fails or outlives its deadline.
 */
export function ensurePythonCelery(): Promise<void> {
  return new Promise((resolveEnsure, reject) => {
    execFile(
      'bash',
      [ENSURE_SCRIPT],
      { timeout: PYTHON_CELERY_INSTALL_TIMEOUT_MS, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        if (!error) resolveEnsure();
        else reject(new Error(`infra/local/python-celery.sh failed: ${stdout}${stderr}`));
      },
    );
  });
}

export interface CeleryWorkerOptions {
  /** The folder of the Celery app module (the worker runs there). */
  cwd: string;
  /** The app module, as `celery -A` takes it. */
  app: string;
  /** The queues it consumes (`-Q`); Celery declares them itself, as classic queues. */
  queues: readonly string[];
  /**
   * The line the app prints on stderr once the worker consumes (a `worker_ready` handler):
   * on stderr, in order with the log, so what comes after it is the log of the test's work.
   */
  readyLine: string;
  /** The app's environment (its broker URL, …); PYTHONDONTWRITEBYTECODE is always set. */
  env: Record<string, string>;
  /** `solo` (the default: one process, nothing to reap) or `prefork` with one child. */
  pool?: 'solo' | 'prefork';
}

export interface CeleryWorker {
  child: ChildProcess;
  /** Its node name, `name@host`. */
  nodeName: string;
  /** Everything it wrote on stderr so far: Celery's log (`[time: LEVEL/Process] message`). */
  log(): string;
  /**
   * The log since it was ready: what it wrote about the messages it received, without the
   * start-up's own notes (such as Celery's warning about running as root in a container).
   */
  logSinceReady(): string;
  /** SIGTERM (warm shutdown), SIGKILL to its process group after a grace; resolves once gone. */
  stop(): Promise<void>;
}

/** Signals the child's process group (it was spawned detached, so it leads one). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Gone already.
  }
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), WORKER_STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
  // A pool process that outlived its parent would go on consuming.
  killGroup(child, 'SIGKILL');
}

/**
 * Starts `python3 -m celery -A <app> worker` (log level INFO, no gossip, mingle or
 * heartbeat: there is no cluster) and resolves once it printed `readyLine`; rejects with
 * its output if it exits first or is not ready within 30 s (and leaves nothing running).
 */
export function startCeleryWorker(options: CeleryWorkerOptions): Promise<CeleryWorker> {
  const nodeName = `clearline-test-${randomBytes(3).toString('hex')}@%h`;
  const pool = options.pool ?? 'solo';
  const args = [
    ...['-m', 'celery', '-A', options.app, 'worker'],
    ...['--pool', pool, ...(pool === 'prefork' ? ['--concurrency', '1'] : [])],
    ...['-Q', options.queues.join(','), '--loglevel', 'INFO', '-n', nodeName],
    ...['--without-gossip', '--without-mingle', '--without-heartbeat'],
  ];
  const child = spawn(PYTHON, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  let stdout = '';
  let readyAt = -1;
  const worker: CeleryWorker = {
    child,
    nodeName,
    log: () => log,
    logSinceReady: () => (readyAt < 0 ? '' : log.slice(readyAt)),
    stop: () => stopWorker(child),
  };
  child.stdout.on('data', (chunk: Buffer) => {
    stdout = (stdout + chunk.toString('utf8')).slice(-LOG_CHARS_MAX);
  });
  return new Promise((resolveReady, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      void stopWorker(child).finally(() =>
        reject(
          new Error(`the Celery worker ${why}:\n${stdout.slice(-4_000)}\n${log.slice(-4_000)}`),
        ),
      );
    };
    const timer = setTimeout(
      () => fail(`was not ready within ${WORKER_READY_TIMEOUT_MS} ms`),
      WORKER_READY_TIMEOUT_MS,
    );
    child.once('error', (error) => fail(`could not start: ${error.message}`));
    child.once('exit', (code, signal) => fail(`exited with ${String(code ?? signal)}`));
    child.stderr.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString('utf8')).slice(0, LOG_CHARS_MAX);
      if (readyAt >= 0) return;
      const at = log.indexOf(`${options.readyLine}\n`);
      if (at < 0) return;
      readyAt = at + options.readyLine.length + 1;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.removeAllListeners('error');
      resolveReady(worker);
    });
  });
}

/** One record of a Celery log: `[2026-01-01 10:00:00,000: WARNING/MainProcess] text…`. */
export interface CeleryLogRecord {
  level: string;
  text: string;
}

const RECORD_START = /^\[[^\]]*?: ([A-Z]+)\/[^\]]+\] /;

/** A Celery log split into records (a traceback stays with the record it follows). */
export function celeryLogRecords(log: string): CeleryLogRecord[] {
  const records: CeleryLogRecord[] = [];
  for (const line of log.split('\n')) {
    const start = RECORD_START.exec(line);
    const last = records.at(-1);
    if (start) records.push({ level: start[1] ?? '', text: line.slice(start[0].length) });
    else if (last) last.text += `\n${line}`;
    else if (line.trim() !== '') records.push({ level: 'UNFORMATTED', text: line });
  }
  return records;
}
