import { BatchCollector } from './batch-collector';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('BatchCollector', () => {
  it('sends what arrives in one turn as one batch and answers each item with its own result', async () => {
    const batches: number[][] = [];
    const collector = new BatchCollector<number, string>(
      { sizeMax: 100, concurrency: 1, weight: () => 1 },
      (items) => {
        batches.push(items);
        return Promise.resolve(items.map((n) => `r${n}`));
      },
    );
    const results = await Promise.all([1, 2, 3].map((n) => collector.add(n)));
    expect(batches).toEqual([[1, 2, 3]]);
    expect(results).toEqual(['r1', 'r2', 'r3']);
  });

  it('gathers items that arrive while a batch runs into the next batch (group commit)', async () => {
    const batches: number[][] = [];
    const gate = deferred();
    const collector = new BatchCollector<number, number>(
      { sizeMax: 100, concurrency: 1, weight: () => 1 },
      async (items) => {
        batches.push(items);
        if (batches.length === 1) await gate.promise;
        return items;
      },
    );
    const first = collector.add(1);
    await new Promise((resolve) => setImmediate(resolve));
    const later = [2, 3, 4].map((n) => collector.add(n));
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([[1]]);
    gate.resolve();
    await Promise.all([first, ...later]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('caps a batch by weight, but never leaves a heavy item behind', async () => {
    const batches: number[][] = [];
    const collector = new BatchCollector<number, number>(
      { sizeMax: 10, concurrency: 4, weight: (n) => n },
      (items) => {
        batches.push(items);
        return Promise.resolve(items);
      },
    );
    await Promise.all([4, 4, 4, 25, 1].map((n) => collector.add(n)));
    expect(batches).toEqual([[4, 4], [4], [25], [1]]);
  });

  it('rejects every item of a failed batch', async () => {
    const collector = new BatchCollector<number, number>(
      { sizeMax: 10, concurrency: 1, weight: () => 1 },
      () => Promise.reject(new Error('database gone')),
    );
    const outcomes = await Promise.allSettled([collector.add(1), collector.add(2)]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
  });
});
