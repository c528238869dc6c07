import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/** Lines of a child's output kept to explain its failure. */
const TAIL_LINES_MAX = 30;

/** The last lines a child wrote, for error messages. */
export class OutputTail {
  private readonly lines: string[] = [];

  push(chunk: Buffer | string): void {
    for (const line of chunk.toString().split('\n')) {
      if (line.trim() === '') continue;
      this.lines.push(line);
      if (this.lines.length > TAIL_LINES_MAX) this.lines.shift();
    }
  }

  text(): string {
    return this.lines.map((line) => `    ${line}`).join('\n');
  }
}

export interface Finished {
  stdout: string;
  tail: OutputTail;
}

export interface RunOptions extends Pick<SpawnOptions, 'cwd' | 'env'> {
  timeoutMs: number;
  /** Copy its stderr (and stdout) to ours as it runs. */
  echo?: boolean;
  /** Aborting SIGKILLs its process group (say, when the worker it drives died). */
  abort?: AbortSignal;
}

/**
 * Runs a program to its end within `timeoutMs` (then SIGKILLs its process group) and
 * resolves with its stdout; rejects, with the last lines it wrote, unless it exits 0.
 */
export function runToEnd(
  what: string,
  command: string,
  args: readonly string[],
  options: RunOptions,
): Promise<Finished> {
  const { timeoutMs, echo, abort, ...spawnOptions } = options;
  const child = spawn(command, args, {
    ...spawnOptions,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const onAbort = (): void => {
    if (child.exitCode === null && child.signalCode === null) killGroup(child, 'SIGKILL');
  };
  abort?.addEventListener('abort', onAbort, { once: true });
  child.once('exit', () => abort?.removeEventListener('abort', onAbort));
  const tail = new OutputTail();
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    tail.push(chunk);
    if (echo === true) process.stderr.write(chunk);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    tail.push(chunk);
    if (echo === true) process.stderr.write(chunk);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(child, 'SIGKILL');
      reject(new Error(`${what} did not finish within ${timeoutMs} ms:\n${tail.text()}`));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${what} could not start: ${error.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, tail });
      else reject(new Error(`${what} exited with ${String(code ?? signal)}:\n${tail.text()}`));
    });
  });
}

/**
 * `work`, unless `child` exits first: then a rejection that says so, instead of waiting
 * for `work`'s own deadline (a result that a dead worker will never write).
 */
export function whileAlive<T>(child: ChildProcess, what: string, work: Promise<T>): Promise<T> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.reject(new Error(`${what} exited before the run`));
  }
  let onExit: (code: number | null, signal: NodeJS.Signals | null) => void = () => undefined;
  const died = new Promise<never>((_, reject) => {
    onExit = (code, signal) =>
      reject(new Error(`${what} exited (${String(code ?? signal)}) mid-run`));
    child.once('exit', onExit);
  });
  return Promise.race([work, died]).finally(() => child.off('exit', onExit));
}

/** Signals the child's whole process group (it was spawned `detached`, so it leads one). */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone already.
  }
}

/**
 * Stops a long-running child spawned `detached`: SIGTERM to it (a graceful shutdown;
 * it stops its own children), then SIGKILL to its whole process group if it has not
 * exited within `graceMs`. Resolves once it has exited; nothing of its group is left.
 */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
  // A pool process that outlived its parent would keep consuming the benchmark's queue.
  killGroup(child, 'SIGKILL');
}
