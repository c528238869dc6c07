import { Gauge } from 'prom-client';
import { OPERATION_KINDS, OPERATION_STATES, type OperationStats } from './operation.model';

/** Where the gauges read from: the latest gateway watched (one per process in production). */
const readers: (() => Promise<OperationStats[]>)[] = [];

let statsOnce: Promise<OperationStats[]> | null = null;

/** Both gauges read one query per scrape; a failed read leaves the figures out. */
function statsForScrape(): Promise<OperationStats[]> {
  const read = readers.at(-1);
  if (!read) return Promise.resolve([]);
  statsOnce ??= read()
    .catch(() => [])
    .finally(() => {
      setImmediate(() => {
        statsOnce = null;
      });
    });
  return statsOnce;
}

/**
 * Operations in flight, read on scrape. Every kind and state is reported (0 when there
 * is none), so an alert on `state="abandoned"` or on the oldest age sees the value
 * fall back when the operation ends.
 */
export const recoveryMetrics = {
  inFlight: new Gauge({
    name: 'clearline_operations_in_flight',
    help: 'Payments and refunds whose operation has not ended, by operation and state (running, overdue: the sweeper resumes it, abandoned: resumes exhausted, for an operator); read on scrape',
    labelNames: ['kind', 'state'],
    async collect() {
      const stats = await statsForScrape();
      this.reset();
      for (const kind of OPERATION_KINDS) {
        for (const state of OPERATION_STATES) this.set({ kind, state }, 0);
      }
      for (const row of stats) this.set({ kind: row.kind, state: row.state }, row.count);
    },
  }),
  oldestAge: new Gauge({
    name: 'clearline_operation_oldest_age_seconds',
    help: 'Seconds since the oldest operation in flight of each kind began (0 when none); read on scrape',
    labelNames: ['kind'],
    async collect() {
      const stats = await statsForScrape();
      this.reset();
      for (const kind of OPERATION_KINDS) {
        const ages = stats.filter((row) => row.kind === kind).map((row) => row.oldestAgeS);
        this.set({ kind }, Math.max(0, ...ages));
      }
    },
  }),
};

/** Makes the gauges read from `read` until the returned function is called. */
export function watchOperations(read: () => Promise<OperationStats[]>): () => void {
  readers.push(read);
  return () => {
    const index = readers.indexOf(read);
    if (index >= 0) readers.splice(index, 1);
  };
}
