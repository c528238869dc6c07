import { BatchCollector } from './batch-collector';

export interface GroupCommitOptions<I = unknown> {
  /** Items per statement at most. */
  sizeMax: number;
  /** Statements in flight at once; items that arrive meanwhile wait and leave together. */
  concurrency: number;
  /**
   * When a batch fails, its items run again one by one, this many at once
   * ({@link FALLBACK_CONCURRENCY_DEFAULT}): a failed batch of 500 must not become 500
   * statements at once on a pool that is already in trouble.
   */
  fallbackConcurrency?: number;
  /**
   * For a statement that may change a row once (an UPDATE … FROM changes a row once,
   * whatever number of source rows match it): the row an item changes. A batch then
   * runs in turns ({@link inTurns}), one statement each, so no row is named twice in a
   * statement; a turn that fails runs its items one by one, and the turns that
   * committed before it stand (they are never run again).
   */
  turnKey?: (item: I) => string;
}

/** Items of a failed batch re-run at once, by default. */
export const FALLBACK_CONCURRENCY_DEFAULT = 8;

type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

/**
 * Group commit for statements on a hot path: callers that want the same statement while
 * earlier ones are in flight are carried by one statement, so a busy process makes one
 * round trip for many items. A lone item leaves at the end of the event-loop turn: no
 * waiting when idle. If a batch fails, its items run again one by one, so one bad item
 * fails alone.
 *
 * @example
 * const creations = new GroupCommit({ sizeMax: 500, concurrency: 2 }, (rows) => insertAll(rows));
 * const created = await creations.submit(row); // shares a statement with concurrent callers
 */
export class GroupCommit<I, R> {
  private readonly collector: BatchCollector<I, Outcome<R>>;
  private readonly fallbackConcurrency: number;
  private readonly turnKey: ((item: I) => string) | undefined;

  constructor(
    options: GroupCommitOptions<I>,
    /** Runs the statement for `items`; returns one result per item, in order. */
    private readonly run: (items: I[]) => Promise<R[]>,
  ) {
    this.fallbackConcurrency = options.fallbackConcurrency ?? FALLBACK_CONCURRENCY_DEFAULT;
    this.turnKey = options.turnKey;
    if (!(this.fallbackConcurrency >= 1)) throw new Error('fallbackConcurrency must be at least 1');
    this.collector = new BatchCollector<I, Outcome<R>>(
      { sizeMax: options.sizeMax, concurrency: options.concurrency, weight: () => 1 },
      (items) => this.runInTurns(items),
    );
  }

  /** Resolves with the item's own result, or rejects with its own error. */
  async submit(item: I): Promise<R> {
    const outcome = await this.collector.add(item);
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  /** Each turn's outcomes are final: a later turn's failure never runs an earlier one again. */
  private async runInTurns(items: I[]): Promise<Outcome<R>[]> {
    const keyOf = this.turnKey;
    if (!keyOf) return this.runIsolated(items);
    const outcomes = new Array<Outcome<R>>(items.length);
    const indexed = items.map((item, index) => ({ item, index }));
    for (const turn of inTurns(indexed, ({ item }) => keyOf(item))) {
      const turnOutcomes = await this.runIsolated(turn.map(({ item }) => item));
      turn.forEach(({ index }, i) => {
        outcomes[index] = turnOutcomes[i] ?? { ok: false, error: new Error('no outcome') };
      });
    }
    return outcomes;
  }

  private async runIsolated(items: I[]): Promise<Outcome<R>[]> {
    try {
      return (await this.runChecked(items)).map((value) => ({ ok: true, value }));
    } catch (error) {
      if (items.length === 1) return [{ ok: false, error }];
      return this.runEachAlone(items);
    }
  }

  /** Runs each item alone, at most `fallbackConcurrency` at once; outcomes in item order. */
  private async runEachAlone(items: I[]): Promise<Outcome<R>[]> {
    const outcomes = new Array<Outcome<R>>(items.length);
    let next = 0;
    const lane = async (): Promise<void> => {
      for (let i = next++; i < items.length; i = next++) {
        outcomes[i] = await this.runAlone(items[i] as I);
      }
    };
    const lanes = Math.min(this.fallbackConcurrency, items.length);
    await Promise.all(Array.from({ length: lanes }, lane));
    return outcomes;
  }

  private async runAlone(item: I): Promise<Outcome<R>> {
    try {
      const [value] = await this.runChecked([item]);
      return { ok: true, value: value as R };
    } catch (error) {
      return { ok: false, error };
    }
  }

  private async runChecked(items: I[]): Promise<R[]> {
    const results = await this.run(items);
    if (results.length !== items.length) {
      throw new Error(
        `a group commit returned ${results.length} results for ${items.length} items`,
      );
    }
    return results;
  }
}

/**
 * Splits a batch into turns in which no key appears twice, keeping each key's items in
 * order: for a statement that may change a row once (an UPDATE … FROM changes a row
 * once, whatever number of source rows match it), so the items of one row go in turns,
 * one statement each, and each sees what the one before it did.
 *
 * @example
 * for (const turn of inTurns(claims, (c) => c.paymentId)) await claimAll(turn);
 */
export function inTurns<T>(items: readonly T[], keyOf: (item: T) => string): T[][] {
  const turns: T[][] = [];
  const turnOfKey = new Map<string, number>();
  for (const item of items) {
    const key = keyOf(item);
    const turn = turnOfKey.get(key) ?? 0;
    turnOfKey.set(key, turn + 1);
    (turns[turn] ??= []).push(item);
  }
  return turns;
}
