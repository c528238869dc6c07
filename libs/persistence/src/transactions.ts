import type { DataSource, EntityManager } from 'typeorm';

/**
 * Runs `work` in a READ COMMITTED transaction: PostgreSQL's default level, which no
 * Clearline data source changes. Naming the level to TypeORM would send one more
 * statement (`SET TRANSACTION ISOLATION LEVEL`) per transaction, a round trip that
 * batch and hot paths cannot afford; every caller that needs more names it instead.
 */
export function readCommitted<T>(
  dataSource: DataSource,
  work: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  return dataSource.transaction(work);
}
