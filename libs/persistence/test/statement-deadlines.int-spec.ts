/**
 * Every connection of a service's pool carries the database deadlines of its
 * environment: a statement that runs past DATABASE_STATEMENT_TIMEOUT_MS is cancelled
 * (57014), one that waits for a lock past DATABASE_LOCK_TIMEOUT_MS gives up (55P03), both
 * classified transient; a transaction left idle past
 * DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS is ended by the server. A transaction that
 * needs longer raises its own limit with SET LOCAL.
 *
 * How: a real service (libs/testing's startTaskApp, the production modules) on this
 * file's own database, with short deadlines in its environment; the statements run
 * through its TypeORM data source against the real PostgreSQL.
 */
import { isTransientDatabaseError } from '@clearline/persistence';
import {
  isolatedInfrastructure,
  startTaskApp,
  type IsolatedInfrastructure,
  type TaskApp,
} from '@clearline/testing';
import type { QueryFailedError } from 'typeorm';

const sqlState = (error: unknown): unknown =>
  (error as QueryFailedError & { driverError: { code?: string } }).driverError.code;

/** The error a statement failed with (none: `null`). */
const failure = (statement: Promise<unknown>): Promise<unknown> =>
  statement.then(
    () => null,
    (error: unknown) => error,
  );

describe('database deadlines on every pooled connection', () => {
  let infra: IsolatedInfrastructure;
  let service: TaskApp;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    service = await startTaskApp({
      infra,
      env: {
        DATABASE_STATEMENT_TIMEOUT_MS: '300',
        DATABASE_LOCK_TIMEOUT_MS: '200',
        DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: '45000',
        DATABASE_POOL_SIZE: '4',
      },
    });
    await service.dataSource.query(`CREATE TABLE deadline_probe (id int PRIMARY KEY)`);
    await service.dataSource.query(`INSERT INTO deadline_probe VALUES (1)`);
  });

  afterAll(async () => {
    await service.close();
    await infra.destroy();
  });

  it('sets the three timeouts from the environment on the pool connections', async () => {
    const rows: { name: string; setting: string }[] = await service.dataSource.query(
      `SELECT name, setting FROM pg_settings
        WHERE name IN ('statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout')
        ORDER BY name`,
    );
    expect(rows).toEqual([
      { name: 'idle_in_transaction_session_timeout', setting: '45000' },
      { name: 'lock_timeout', setting: '200' },
      { name: 'statement_timeout', setting: '300' },
    ]);
  });

  it('cancels a statement past its deadline, as a transient error', async () => {
    const error = await failure(service.dataSource.query(`SELECT pg_sleep(5)`));
    expect(sqlState(error)).toBe('57014');
    expect(isTransientDatabaseError(error)).toBe(true);
  });

  it('gives up waiting for a lock, as a transient error', async () => {
    const holder = service.dataSource.createQueryRunner();
    await holder.connect();
    try {
      await holder.startTransaction();
      await holder.query(`SELECT id FROM deadline_probe WHERE id = 1 FOR UPDATE`);
      const error = await failure(
        service.dataSource.query(`UPDATE deadline_probe SET id = 1 WHERE id = 1`),
      );
      expect(sqlState(error)).toBe('55P03');
      expect(isTransientDatabaseError(error)).toBe(true);
    } finally {
      await holder.rollbackTransaction();
      await holder.release();
    }
  });

  it('lets a transaction that needs longer raise its own limit with SET LOCAL', async () => {
    await expect(
      service.dataSource.transaction(async (manager) => {
        await manager.query(`SET LOCAL statement_timeout = 5000`);
        const slept: unknown = await manager.query(`SELECT pg_sleep(0.5) AS slept`);
        return slept;
      }),
    ).resolves.toEqual([{ slept: '' }]);
  });
});
