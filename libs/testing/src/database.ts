import { Pool } from 'pg';

/** Connections a test holds to its database (reads and the odd fixture write). */
const POOL_SIZE = 4;
/** The longest one test query may run. */
const STATEMENT_TIMEOUT_MS = 30_000;

/** A test's own connection to a service's database, to read what the service wrote. */
export interface TestDatabase {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export function connectDatabase(url: string): TestDatabase {
  const pool = new Pool({
    connectionString: url,
    max: POOL_SIZE,
    application_name: 'clearline-test',
    statement_timeout: STATEMENT_TIMEOUT_MS,
  });
  return {
    query: async <T>(sql: string, params: unknown[] = []) =>
      (await pool.query(sql, params)).rows as T[],
    close: () => pool.end(),
  };
}
