import { LocalTokenBucket, rateIntervalMs } from './rate-limit';

describe('rateIntervalMs', () => {
  it('reads Celery rates per second, minute and hour', () => {
    expect(rateIntervalMs('t', '100/s')).toBe(10);
    expect(rateIntervalMs('t', '10/m')).toBe(6_000);
    expect(rateIntervalMs('t', '5/h')).toBe(720_000);
    expect(rateIntervalMs('t', '0.5/s')).toBe(2_000);
  });

  it.each(['', '10', '10/d', '0/s', '-1/s', 'ten/m', '1000000/s'])(
    'refuses %p, naming the task',
    (rate) => {
      expect(() => rateIntervalMs('ledger.post', rate)).toThrow(/task ledger\.post: rateLimit/);
    },
  );
});

describe('LocalTokenBucket', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('hands out one token per interval, in order, counted from when tokens are taken', async () => {
    let nowMs = 0;
    const bucket = new LocalTokenBucket(100, () => nowMs);
    const granted: number[] = [];
    for (let i = 0; i < 3; i += 1) void bucket.take().then(() => granted.push(i));
    await Promise.resolve();
    expect(granted).toEqual([0]);
    nowMs = 99;
    jest.advanceTimersByTime(99);
    await Promise.resolve();
    expect(granted).toEqual([0]);
    // The timer fires late: the next token still waits a whole interval after this one.
    nowMs = 150;
    jest.advanceTimersByTime(51);
    await Promise.resolve();
    expect(granted).toEqual([0, 1]);
    nowMs = 249;
    jest.advanceTimersByTime(99);
    await Promise.resolve();
    expect(granted).toEqual([0, 1]);
    nowMs = 250;
    jest.advanceTimersByTime(1);
    await Promise.resolve();
    expect(granted).toEqual([0, 1, 2]);
  });

  it('answers false to every waiter when closed', async () => {
    const bucket = new LocalTokenBucket(60_000, () => 0);
    const first = bucket.take();
    const second = bucket.take();
    bucket.close();
    await expect(first).resolves.toBe(true);
    await expect(second).resolves.toBe(false);
    await expect(bucket.take()).resolves.toBe(false);
  });
});
