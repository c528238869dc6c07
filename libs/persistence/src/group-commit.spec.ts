import { GroupCommit, inTurns } from './group-commit';

describe('GroupCommit', () => {
  it('carries the items that arrive while a statement is in flight in the next one', async () => {
    const batches: number[][] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const commit = new GroupCommit<number, number>(
      { sizeMax: 100, concurrency: 1 },
      async (items) => {
        batches.push(items);
        if (batches.length === 1) await gate;
        return items.map((item) => item * 10);
      },
    );
    const first = commit.submit(1);
    await new Promise((resolve) => setImmediate(resolve));
    const rest = [2, 3, 4].map((item) => commit.submit(item));
    release();
    await expect(Promise.all([first, ...rest])).resolves.toEqual([10, 20, 30, 40]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('respects the size limit', async () => {
    const sizes: number[] = [];
    const commit = new GroupCommit<number, number>({ sizeMax: 2, concurrency: 1 }, (items) => {
      sizes.push(items.length);
      return Promise.resolve(items);
    });
    await Promise.all([1, 2, 3, 4, 5].map((item) => commit.submit(item)));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(5);
  });

  it('runs items of one row in turns, and never runs a committed turn again when a later one fails', async () => {
    const statements: string[][] = [];
    const commit = new GroupCommit<string, string>(
      { sizeMax: 100, concurrency: 1, turnKey: (item) => item.charAt(0) },
      (items) => {
        statements.push(items);
        // The second turn fails as a batch (say a deadlock); alone, its items pass.
        if (items.includes('a2') && items.length > 1) return Promise.reject(new Error('lost'));
        return Promise.resolve(items.map((item) => item.toUpperCase()));
      },
    );
    const first = commit.submit('a1');
    const rest = ['b1', 'a2', 'c1', 'b2'].map((item) => commit.submit(item));
    await expect(Promise.all([first, ...rest])).resolves.toEqual(['A1', 'B1', 'A2', 'C1', 'B2']);
    expect(statements).toEqual([['a1', 'b1', 'c1'], ['a2', 'b2'], ['a2'], ['b2']]);
  });

  it('fails a bad item alone: a failed batch runs again item by item', async () => {
    const commit = new GroupCommit<number, number>({ sizeMax: 100, concurrency: 1 }, (items) =>
      items.includes(13) ? Promise.reject(new Error('unlucky')) : Promise.resolve(items),
    );
    const outcomes = await Promise.allSettled([12, 13, 14].map((item) => commit.submit(item)));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('re-runs the items of a failed batch one by one, never more than fallbackConcurrency at once', async () => {
    let running = 0;
    let runningMax = 0;
    let batches = 0;
    const commit = new GroupCommit<number, number>(
      { sizeMax: 500, concurrency: 1, fallbackConcurrency: 3 },
      async (items) => {
        batches += 1;
        if (items.length > 1) throw new Error('the batch fails');
        running += 1;
        runningMax = Math.max(runningMax, running);
        // Each lone item yields a few turns, so unbounded re-runs would all overlap.
        for (let turn = 0; turn < 5; turn += 1) await new Promise((r) => setImmediate(r));
        running -= 1;
        if (items[0] === 7) throw new Error('poisoned');
        return items;
      },
    );
    const items = Array.from({ length: 40 }, (_v, i) => i);
    const outcomes = await Promise.allSettled(items.map((item) => commit.submit(item)));
    expect(batches).toBe(41);
    expect(runningMax).toBe(3);
    expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(1);
    expect(outcomes[7]?.status).toBe('rejected');
    expect(outcomes[8]).toEqual({ status: 'fulfilled', value: 8 });
  });

  it('refuses a statement that answers for the wrong number of items', async () => {
    const commit = new GroupCommit<number, number>({ sizeMax: 100, concurrency: 1 }, () =>
      Promise.resolve([]),
    );
    await expect(commit.submit(1)).rejects.toThrow(/0 results for 1 items/);
  });
});

describe('inTurns', () => {
  it('puts each key at most once in a turn, its items in order', () => {
    const items = ['a1', 'b1', 'a2', 'c1', 'a3', 'b2'];
    expect(inTurns(items, (item) => item.charAt(0))).toEqual([
      ['a1', 'b1', 'c1'],
      ['a2', 'b2'],
      ['a3'],
    ]);
  });

  it('keeps a batch without repeated keys in one turn, and an empty one in none', () => {
    expect(inTurns(['a', 'b', 'c'], (item) => item)).toEqual([['a', 'b', 'c']]);
    expect(inTurns([], (item: string) => item)).toEqual([]);
  });
});
