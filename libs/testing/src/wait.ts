/**
 * How long `eventually` waits unless told: long enough for a loaded two-core machine
 * (a condition that holds returns at once, so a long deadline costs a passing test
 * nothing), shorter than Jest's 60 s test timeout so the message names what was awaited.
 */
export const EVENTUALLY_TIMEOUT_MS_DEFAULT = 30_000;

/** Polls `check` until it returns a value (not undefined/false) or the time runs out. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = EVENTUALLY_TIMEOUT_MS_DEFAULT, intervalMs = 25, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Checks that `check` stays true for `durationMs`, polling; throws at the first poll it
 * is false. For what must *not* happen (a redelivery, a second publish): an absence can
 * only be watched for a while, and a slow machine only makes the watch less sensitive,
 * never makes it fail. Use `eventually` first for whatever must have happened.
 */
export async function holdsFor(
  check: () => Promise<boolean> | boolean,
  { durationMs = 1_000, intervalMs = 50, what = 'condition' } = {},
): Promise<void> {
  const end = Date.now() + durationMs;
  for (;;) {
    if (!(await check())) throw new Error(`no longer true within ${durationMs} ms: ${what}`);
    if (Date.now() > end) return;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * A gate the test opens: handlers `await gate.opened` and pass at once while it is open
 * (as it starts); after `close()` they wait until the test calls `open()`. It replaces a
 * sleep with an event the test controls.
 */
export class Gate {
  opened: Promise<void> = Promise.resolve();
  private release: () => void = () => undefined;

  close(): void {
    this.opened = new Promise<void>((resolve) => (this.release = resolve));
  }

  /** An arrow property, so it can be handed on as a callback. */
  readonly open = (): void => {
    this.release();
  };
}
