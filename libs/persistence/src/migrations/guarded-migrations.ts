import { DataSource, type QueryRunner } from 'typeorm';
import { dataSourceOptions } from '../data-source-options';
import { migrationChecksum } from './migration-checksum';
import {
  forgetChecksum,
  MIGRATION_LOCK_ID,
  recordChecksum,
  verifyMigrationsWith,
  type MigrationLog,
} from './migration-guard';
import { migrationName, type MigrationClass, type MigrationSet } from './migration-set';

/** How long `migration:run` waits for another run to finish before it gives up. */
export const MIGRATION_LOCK_TIMEOUT_MS = 300_000;

/**
 * The migration, as TypeORM runs it, with its checksum recorded (or forgotten, on
 * revert) in the same transaction as its own statements and TypeORM's `migrations` row.
 */
function checksummed(owner: string, migration: MigrationClass): MigrationClass {
  const name = migrationName(migration);
  return class extends migration {
    override name = name;

    override async up(runner: QueryRunner): Promise<void> {
      await super.up(runner);
      await recordChecksum(runner, name, owner, await migrationChecksum(migration));
    }

    override async down(runner: QueryRunner): Promise<void> {
      await super.down(runner);
      await forgetChecksum(runner, name);
    }
  };
}

/** Every migration of the sets, wrapped to record its checksum when applied. */
export function checksummedMigrations(sets: readonly MigrationSet[]): MigrationClass[] {
  return sets.flatMap((set) => set.migrations.map((m) => checksummed(set.owner, m)));
}

export interface GuardedMigrationOptions {
  url: string;
  applicationName: string;
  /** Every migration set of the database: an applied migration none lists is missing. */
  sets: readonly MigrationSet[];
  /** Undo the last applied migration instead of applying the pending ones. */
  revert?: boolean;
  log?: MigrationLog;
}

/**
 * `migration:run`: under the migration lock, checks every applied migration against
 * the code (throws {@link MigrationDriftError} before anything runs), then applies the
 * pending ones, each in its own transaction with its checksum, or reverts the last one.
 * Returns the names applied.
 */
export async function runMigrationsGuarded(options: GuardedMigrationOptions): Promise<string[]> {
  const dataSource = new DataSource(
    dataSourceOptions({
      url: options.url,
      applicationName: options.applicationName,
      // One connection holds the lock, the other runs the migrations.
      poolSize: 2,
      // A migration may rewrite a big table or wait for the lock of another runner: the
      // services' statement deadlines must not cut it short (0: none).
      statementTimeoutMs: 0,
      lockTimeoutMs: 0,
      idleInTransactionTimeoutMs: 0,
      migrations: checksummedMigrations(options.sets),
    }),
  );
  await dataSource.initialize();
  const lock = dataSource.createQueryRunner();
  try {
    await lock.query(`SET lock_timeout = ${MIGRATION_LOCK_TIMEOUT_MS}`);
    await lock.query(`SELECT pg_advisory_lock(${MIGRATION_LOCK_ID})`);
    await verifyMigrationsWith(lock, dataSource, options.sets, {
      complete: true,
      ...(options.log ? { log: options.log } : {}),
    });
    if (options.revert) {
      await dataSource.undoLastMigration({ transaction: 'each' });
      return [];
    }
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  } finally {
    await lock.query(`SELECT pg_advisory_unlock_all()`).catch(() => undefined);
    await lock.release();
    await dataSource.destroy();
  }
}
