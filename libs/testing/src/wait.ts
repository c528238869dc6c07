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
