import { retryDelayMs, shouldRetry } from './task-options';

class Transient extends Error {}

describe('retry policy', () => {
  it('backs off exponentially up to the ceiling, without jitter when asked', () => {
    const options = { retryBackoffMs: 100, retryBackoffMaxMs: 1_000, retryJitter: false };
    expect([0, 1, 2, 3, 4, 10].map((n) => retryDelayMs(options, n))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
  });

  it('draws full jitter between zero and the exponential delay', () => {
    const options = { retryBackoffMs: 100 };
    expect(retryDelayMs(options, 3, () => 0)).toBe(0);
    expect(retryDelayMs(options, 3, () => 0.5)).toBe(400);
    expect(retryDelayMs(options, 3, () => 0.999)).toBeLessThanOrEqual(800);
  });

  it('retries only the declared errors, and only up to retryCountMax', () => {
    const options = { retryOn: [Transient], retryCountMax: 2 };
    expect(shouldRetry(options, new Transient(), 0)).toBe(true);
    expect(shouldRetry(options, new Transient(), 2)).toBe(false);
    expect(shouldRetry(options, new Error(), 0)).toBe(false);
  });

  it('matches errors by predicate as well as by class', () => {
    const options = {
      retryOn: [(error: unknown) => error instanceof Error && error.message === 'again'],
    };
    expect(shouldRetry(options, new Error('again'), 0)).toBe(true);
    expect(shouldRetry(options, new Error('broken'), 0)).toBe(false);
  });
});
