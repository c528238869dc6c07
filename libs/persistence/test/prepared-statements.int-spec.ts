/**
 * Statements marked `preparedStatement` run as named statements of the extended protocol:
 * parsed once per connection of the pool (PostgreSQL lists them in
 * `pg_prepared_statements`), with the same results as unprepared; other statements are
 * not prepared. A marked statement that failed — by its own error, or because its
 * transaction was already aborted when it was first sent — runs again on that connection.
 * Their plans are made for their parameters every run (`plan_cache_mode`).
 *
 * How: a data source built by `dataSourceOptions` (the services' own) with one connection,
 * on this file's own database, against the real PostgreSQL.
 */
import { DataSource } from 'typeorm';
import {
  dataSourceOptions,
  preparedStatement,
  preparedStatementName,
} from '@clearline/persistence';
import { isolatedInfrastructure, type IsolatedInfrastructure } from '@clearline/testing';

const INSERT = preparedStatement(
  `INSERT INTO prepared_probe (id, amount)
   SELECT * FROM unnest($1::text[], $2::bigint[]) RETURNING id, amount::text AS amount`,
);
const BY_ID = preparedStatement(
  `SELECT id, amount::text AS amount FROM prepared_probe WHERE id = ANY($1::text[]) ORDER BY id`,
);
const UNMARKED = `SELECT count(*)::int AS n FROM prepared_probe WHERE amount > $1`;

describe('prepared statements', () => {
  let infra: IsolatedInfrastructure;
  let dataSource: DataSource;

  /** The statements the (only) connection of the pool has prepared, by name. */
  async function prepared(): Promise<Map<string, string>> {
    const rows: { name: string; statement: string }[] = await dataSource.query(
      `SELECT name, statement FROM pg_prepared_statements`,
    );
    return new Map(rows.map((row) => [row.name, row.statement]));
  }

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    dataSource = new DataSource(
      dataSourceOptions({
        url: infra.databaseUrl,
        applicationName: 'clearline-prepared-test',
        poolSize: 1,
      }),
    );
    await dataSource.initialize();
    await dataSource.query(
      `CREATE TABLE prepared_probe (id text PRIMARY KEY, amount bigint NOT NULL CHECK (amount > 0))`,
    );
  });

  afterAll(async () => {
    await dataSource.destroy();
    await infra.destroy();
  });

  it('prepares a marked statement once on the connection, and answers as unprepared', async () => {
    const inserted: unknown = await dataSource.query(INSERT, [
      ['a', 'b'],
      ['100', '200'],
    ]);
    expect(inserted).toEqual([
      { id: 'a', amount: '100' },
      { id: 'b', amount: '200' },
    ]);
    const name = preparedStatementName(INSERT);
    expect(name).toBeDefined();
    expect((await prepared()).get(name ?? '')).toBe(INSERT);
    // Past five runs PostgreSQL may keep one generic plan: the answers stay the rows asked for.
    for (let run = 0; run < 8; run += 1) {
      const ids = run % 2 === 0 ? ['a'] : ['a', 'b', 'missing'];
      const rows: { id: string }[] = await dataSource.query(BY_ID, [ids]);
      expect(rows.map((row) => row.id)).toEqual(run % 2 === 0 ? ['a'] : ['a', 'b']);
    }
    const statements = await prepared();
    expect(statements.get(preparedStatementName(BY_ID) ?? '')).toBe(BY_ID);
    expect(statements.size).toBe(2);
  });

  it('plans prepared statements for their parameters each run, never one kept generic plan', async () => {
    // A generic plan made while a table is empty scans it whole, and is kept as it grows.
    expect(await dataSource.query(`SHOW plan_cache_mode`)).toEqual([
      { plan_cache_mode: 'force_custom_plan' },
    ]);
  });

  it('leaves an unmarked statement unprepared', async () => {
    const rows: { n: number }[] = await dataSource.query(UNMARKED, ['150']);
    expect(rows).toEqual([{ n: 1 }]);
    expect([...(await prepared()).values()]).not.toContain(UNMARKED);
  });

  it('runs a marked statement again after it failed, on its own or in an aborted transaction', async () => {
    await expect(dataSource.query(INSERT, [['c'], ['-1']])).rejects.toThrow(/check constraint/);
    const fresh = preparedStatement(
      `SELECT id FROM prepared_probe WHERE amount >= $1::bigint ORDER BY id`,
    );
    // Its first Parse reaches a transaction that has already failed: refused, not prepared.
    await expect(
      dataSource.transaction(async (manager) => {
        await manager.query(`SELECT 1 / 0`).catch(() => undefined);
        await manager.query(fresh, ['150']);
      }),
    ).rejects.toThrow(/current transaction is aborted/);
    expect(await dataSource.query(fresh, ['150'])).toEqual([{ id: 'b' }]);
    expect(await dataSource.query(INSERT, [['c'], ['300']])).toEqual([{ id: 'c', amount: '300' }]);
    expect(await dataSource.query(fresh, ['150'])).toEqual([{ id: 'b' }, { id: 'c' }]);
  });
});
