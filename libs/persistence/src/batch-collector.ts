/** Bounds of a {@link BatchCollector}. */
export interface BatchCollectorOptions<T> {
  /** The most work one batch may carry, in units of `weight`. */
  sizeMax: number;
  /** Batches in flight at once. */
  concurrency: number;
  /** How much work one item is; at least 1. */
  weight: (item: T) => number;
}

interface Queued<T, R> {
  item: T;
  weight: number;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: items that arrive while the batches in flight are running wait and
 * then leave together as the next batch. With nothing in flight an item leaves at the
 * end of the current event-loop turn, so a lone task is not held back, and under load
 * a batch carries everything that arrived during the previous one (up to `sizeMax`).
 * `flush` must return one result per item, in order; a rejected flush rejects every item
 * of its batch (see {@link GroupCommit} for item-by-item isolation).
 */
export class BatchCollector<T, R> {
  private queued: Queued<T, R>[] = [];
  private running = 0;
  private scheduled = false;

  constructor(
    private readonly options: BatchCollectorOptions<T>,
    private readonly flush: (items: T[]) => Promise<R[]>,
  ) {}

  /** Resolves with the item's own result once its batch is done. */
  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queued.push({ item, weight: Math.max(1, this.options.weight(item)), resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.running >= this.options.concurrency || this.queued.length === 0)
      return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    while (this.running < this.options.concurrency && this.queued.length > 0) {
      const batch = this.take();
      this.running += 1;
      void this.flush(batch.map((queued) => queued.item))
        .then(
          (results) => batch.forEach((queued, i) => queued.resolve(results[i] as R)),
          (error: unknown) => batch.forEach((queued) => queued.reject(error)),
        )
        .finally(() => {
          this.running -= 1;
          this.schedule();
        });
    }
  }

  /** The next batch: at least one item, then as many as fit in `sizeMax`. */
  private take(): Queued<T, R>[] {
    let weight = 0;
    let count = 0;
    for (const queued of this.queued) {
      if (count > 0 && weight + queued.weight > this.options.sizeMax) break;
      weight += queued.weight;
      count += 1;
    }
    return this.queued.splice(0, count);
  }
}
