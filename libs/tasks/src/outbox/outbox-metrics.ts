import { Gauge } from 'prom-client';
import type { DataSource } from 'typeorm';
import { readPerScrape } from '../metrics/read-per-scrape';

/** Unsent rows are counted up to this many: past it the figure says "at least". */
export const OUTBOX_UNSENT_COUNT_MAX = 100_000;
/** A scrape never waits longer than this for the figures (they are left out instead). */
const LAG_READ_TIMEOUT_MS = 2_000;

/** How far the outbox relay of this process is behind its committed rows. */
export interface OutboxLag {
  /** Unsent rows this process relays, at most OUTBOX_UNSENT_COUNT_MAX. */
  unsent: number;
  /** Seconds since the oldest of them was committed; 0 when there is none. */
  oldestAgeS: number;
}

/** A relay this process runs: its data source and its broker user (the rows it sends). */
interface OutboxSource {
  dataSource: DataSource;
  sender: string;
}

/** Where the gauges read from: the latest relay started (one per process in production). */
const sources: OutboxSource[] = [];

/**
 * The relay's own rows (its sender, or none named) that are not sent yet: both figures
 * walk the partial index of unsent rows, the count bounded, under a statement timeout,
 * so a scrape costs one short query whatever the backlog.
 */
async function readLag(): Promise<OutboxLag | null> {
  const source = sources.at(-1);
  if (!source?.dataSource.isInitialized) return null;
  return source.dataSource.transaction(async (manager) => {
    await manager.query(`SET LOCAL statement_timeout = ${LAG_READ_TIMEOUT_MS}`);
    const [row] = await manager.query<{ unsent: number; oldest_age_s: number }[]>(
      `SELECT (SELECT count(*) FROM (SELECT 1 FROM task_outbox
                 WHERE sent_at IS NULL AND sender IN ('', $1) LIMIT $2) AS r)::float8 AS unsent,
              coalesce(extract(epoch FROM clock_timestamp() - (SELECT created_at FROM task_outbox
                 WHERE sent_at IS NULL AND sender IN ('', $1) ORDER BY id LIMIT 1)), 0)::float8
                AS oldest_age_s`,
      [source.sender, OUTBOX_UNSENT_COUNT_MAX],
    );
    return row ? { unsent: row.unsent, oldestAgeS: Math.max(0, row.oldest_age_s) } : null;
  });
}

const lagForScrape = readPerScrape(readLag, null);

/**
 * Outbox lag, read on scrape. A relay keeping up shows a few rows for milliseconds; rows
 * that stay (the broker away, a publish refused) make the oldest age grow, which is what
 * the `ClearlineOutboxLag` alert watches.
 */
export const outboxMetrics = {
  unsent: new Gauge({
    name: 'clearline_outbox_unsent_messages',
    help: `Outbox rows committed and not yet confirmed by the broker, that this process relays (counted up to ${OUTBOX_UNSENT_COUNT_MAX}); read on scrape`,
    async collect() {
      const lag = await lagForScrape();
      this.reset();
      if (lag) this.set(lag.unsent);
    },
  }),
  oldestAge: new Gauge({
    name: 'clearline_outbox_oldest_unsent_age_seconds',
    help: 'Seconds since the oldest unsent outbox row this process relays was committed (0 when none); read on scrape',
    async collect() {
      const lag = await lagForScrape();
      this.reset();
      if (lag) this.set(lag.oldestAgeS);
    },
  }),
};

/** The gauges read the outbox of `dataSource` for `sender` until the returned function is called. */
export function watchOutbox(dataSource: DataSource, sender: string): () => void {
  const source = { dataSource, sender };
  sources.push(source);
  return () => {
    const i = sources.indexOf(source);
    if (i >= 0) sources.splice(i, 1);
  };
}
