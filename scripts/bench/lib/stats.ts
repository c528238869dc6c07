/** Small, exact statistics for benchmark samples (milliseconds). */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

export interface Throughput {
  perS: number;
  count: number;
  seconds: number;
}

export interface Latency {
  p50Ms: number;
  p99Ms: number;
  count: number;
}

export function latency(samples: readonly number[]): Latency {
  return {
    p50Ms: round(percentile(samples, 50)),
    p99Ms: round(percentile(samples, 99)),
    count: samples.length,
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Calls `send(i)` at `ratePerS` for `count` calls, without waiting for them, and awaits all. */
export async function paced<T>(
  count: number,
  ratePerS: number,
  send: (i: number) => Promise<T>,
): Promise<T[]> {
  const started = performance.now();
  const all: Promise<T>[] = [];
  for (let i = 0; i < count; i += 1) {
    const due = started + (i * 1_000) / ratePerS;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    all.push(send(i));
  }
  return Promise.all(all);
}

/** Runs `send` `count` times keeping at most `window` calls in flight. */
export async function windowed(
  count: number,
  window: number,
  send: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const i = next;
      next += 1;
      await send(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, lane));
}
