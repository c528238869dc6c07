import { Counter, Gauge } from 'prom-client';
import type { DataSource } from 'typeorm';
import { readPerScrape } from '../metrics/read-per-scrape';

/** The task layer's tables whose size operators watch. */
export const TASK_TABLES = [
  'task_results',
  'task_inbox',
  'task_outbox',
  'task_schedule_slots',
] as const;

/** Where the size gauges read from: the latest data source watched (one per process in production). */
const sources: DataSource[] = [];

/** A scrape never waits longer than this for the sizes (they are left out instead). */
const SIZE_READ_TIMEOUT_MS = 2_000;
/** A table never analysed yet is counted, up to this many rows. */
const COUNT_ROWS_MAX = 1_000_000;

/**
 * Estimated rows (the planner's `reltuples`, kept fresh by autovacuum, so a scrape never
 * counts a big table; a table never analysed yet is counted, bounded) and bytes (heap,
 * indexes and TOAST) of each task table, under a statement timeout.
 */
async function readSizes(): Promise<{ table: string; rows: number; bytes: number }[]> {
  const source = sources.at(-1);
  if (!source?.isInitialized) return [];
  return source.transaction(async (manager) => {
    await manager.query(`SET LOCAL statement_timeout = ${SIZE_READ_TIMEOUT_MS}`);
    const rows: { tbl: string; estimate: number; bytes: string }[] = await manager.query(
      `SELECT t AS tbl, c.reltuples::float8 AS estimate, pg_total_relation_size(c.oid)::text AS bytes
         FROM unnest($1::text[]) AS t JOIN pg_class c ON c.oid = to_regclass(t)`,
      [[...TASK_TABLES]],
    );
    const sizes: { table: string; rows: number; bytes: number }[] = [];
    for (const row of rows) {
      let count = row.estimate;
      if (count < 0) {
        // One transaction, one statement at a time; rarely more than one table here.
        const [counted] = await manager.query<{ n: number }[]>(
          `SELECT count(*)::float8 AS n FROM (SELECT 1 FROM ${row.tbl} LIMIT ${COUNT_ROWS_MAX}) AS r`,
        );
        count = counted?.n ?? 0;
      }
      sizes.push({ table: row.tbl, rows: count, bytes: Number(row.bytes) });
    }
    return sizes;
  });
}

/** Both gauges read one query per scrape. */
const sizesForScrape = readPerScrape(readSizes, []);

/** Retention metrics in the process's default Prometheus registry. */
export const retentionMetrics = {
  tableRows: new Gauge({
    name: 'clearline_task_table_rows',
    help: 'Rows in a task-layer table (estimated by PostgreSQL statistics), read on scrape',
    labelNames: ['table'],
    async collect() {
      this.reset();
      for (const size of await sizesForScrape()) this.set({ table: size.table }, size.rows);
    },
  }),
  tableBytes: new Gauge({
    name: 'clearline_task_table_bytes',
    help: 'Bytes of a task-layer table with its indexes and TOAST, read on scrape',
    labelNames: ['table'],
    async collect() {
      this.reset();
      for (const size of await sizesForScrape()) this.set({ table: size.table }, size.bytes);
    },
  }),
  swept: new Counter({
    name: 'clearline_task_rows_swept_total',
    help: 'Rows deleted by the retention sweep, by table',
    labelNames: ['table'],
  }),
};

/** The size gauges read `dataSource` until the returned function is called. */
export function watchTableSizes(dataSource: DataSource): () => void {
  sources.push(dataSource);
  return () => {
    const i = sources.lastIndexOf(dataSource);
    if (i >= 0) sources.splice(i, 1);
  };
}
