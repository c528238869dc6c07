import type { DataSource } from 'typeorm';

/**
 * Runs one statement in its own transaction under `SET LOCAL statement_timeout`, so the
 * scheduler and the sweep never wait on the database without a deadline (the pool has
 * none). A timeout is an error like any other: the pass is retried at the next tick.
 */
export async function boundedQuery<T>(
  dataSource: DataSource,
  timeoutMs: number,
  sql: string,
  parameters: unknown[],
): Promise<T> {
  return dataSource.transaction('READ COMMITTED', async (manager) => {
    await manager.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(timeoutMs))}`);
    return manager.query<T>(sql, parameters);
  });
}
