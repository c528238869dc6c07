import type { DataSource, QueryRunner } from 'typeorm';
import { SERVICES, serviceDatabaseRole } from '@clearline/contracts';
import {
  compareMigrations,
  expectedMigrations,
  MigrationDriftError,
  type AppliedMigration,
  type ExpectedMigration,
} from './migration-drift';
import type { MigrationSet } from './migration-set';

/** The table the guard owns: one row per applied migration, with its checksum. */
export const MIGRATION_CHECKSUMS_TABLE = 'migration_checksums';

/**
 * Held while checksums are created or recorded, and by `migration:run` for the whole
 * run, so replicas starting together and a migration run never baseline at once.
 * Advisory locks are per database, and every deployment has its own database.
 */
export const MIGRATION_LOCK_ID = 7_340_100_001;

/** How long a starting service waits for a running `migration:run` before it gives up. */
export const BASELINE_LOCK_TIMEOUT_MS = 10_000;

const CREATE_CHECKSUMS_TABLE = `
  CREATE TABLE IF NOT EXISTS ${MIGRATION_CHECKSUMS_TABLE} (
    name        text PRIMARY KEY,
    owner       text NOT NULL,
    checksum    text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    -- true: recorded from the code after the fact, for a migration applied before
    -- checksums were kept; what was applied then is not known.
    baseline    boolean NOT NULL DEFAULT false
  )`;

/** Lets every service role that exists read the checksums (roles: service-roles.ts). */
const GRANT_CHECKSUMS_TABLE = `
  DO $$ DECLARE role text;
  BEGIN
    FOR role IN SELECT rolname FROM pg_roles
                 WHERE rolname IN (${SERVICES.map((s) => `'${serviceDatabaseRole(s)}'`).join(', ')}) LOOP
      EXECUTE format('GRANT SELECT ON ${MIGRATION_CHECKSUMS_TABLE} TO %I', role);
    END LOOP;
  END $$`;

/** Where a check reports what it did; the Nest logger at service start, the console in scripts. */
export interface MigrationLog {
  log(message: string): void;
  warn(message: string): void;
}

export interface VerifyMigrationsOptions {
  /**
   * The sets are every owner of the database (`migration:run`): an applied migration
   * none of them lists is missing. A service checks its own sets only.
   */
  complete?: boolean;
  log?: MigrationLog;
}

/** What a successful check found. */
export interface MigrationCheck {
  applied: number;
  /** In the code, not applied yet. */
  pending: string[];
  /** Applied, newer than anything this code knows (the database is ahead of it). */
  future: string[];
  /** Applied before checksums were kept; their current checksum was recorded now. */
  baselined: string[];
}

interface AppliedRow {
  name: string;
  timestamp: string;
  owner: string | null;
  checksum: string | null;
}

function migrationsTable(dataSource: DataSource): string {
  return dataSource.options.migrationsTableName ?? 'migrations';
}

function appliedQuery(table: string): string {
  return `SELECT m.name, m.timestamp::text AS timestamp, c.owner, c.checksum
            FROM "${table}" m LEFT JOIN ${MIGRATION_CHECKSUMS_TABLE} c ON c.name = m.name`;
}

function toApplied(rows: readonly AppliedRow[]): AppliedMigration[] {
  return rows.map((row) => ({ ...row, timestamp: Number(row.timestamp) }));
}

function isUndefinedTable(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '42P01';
}

/**
 * The slow path, taken once per database (or when new owners meet old rows): creates
 * the checksum table and records the code's checksum for applied migrations that have
 * none, under the migration lock, in one transaction.
 */
async function baseline(
  runner: QueryRunner,
  table: string,
  expected: ReadonlyMap<string, ExpectedMigration>,
  log: MigrationLog,
): Promise<{ applied: AppliedMigration[]; baselined: string[] }> {
  await runner.startTransaction();
  try {
    await runner.query(`SET LOCAL lock_timeout = ${BASELINE_LOCK_TIMEOUT_MS}`);
    // The pool's statement deadline may be shorter than the wait for the lock: this
    // transaction's bound is the lock's.
    await runner.query(`SET LOCAL statement_timeout = ${BASELINE_LOCK_TIMEOUT_MS * 2}`);
    await runner.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_ID})`);
    await runner.query(CREATE_CHECKSUMS_TABLE);
    // The services' roles read it at every start (the migrations granted what existed then).
    await runner.query(GRANT_CHECKSUMS_TABLE);
    const [found] = (await runner.query(`SELECT to_regclass($1) IS NOT NULL AS found`, [
      `"${table}"`,
    ])) as { found: boolean }[];
    const applied = found?.found
      ? toApplied((await runner.query(appliedQuery(table))) as AppliedRow[])
      : [];
    const missing = applied.flatMap((row) => {
      const known = row.checksum === null ? expected.get(row.name) : undefined;
      return known ? [known] : [];
    });
    if (missing.length > 0) {
      await runner.query(
        `INSERT INTO ${MIGRATION_CHECKSUMS_TABLE} (name, owner, checksum, baseline)
         SELECT name, owner, checksum, true FROM unnest($1::text[], $2::text[], $3::text[])
                  AS m (name, owner, checksum)
         ON CONFLICT (name) DO NOTHING`,
        [missing.map((m) => m.name), missing.map((m) => m.owner), missing.map((m) => m.checksum)],
      );
    }
    await runner.commitTransaction();
    for (const m of missing) {
      log.warn(
        `migration ${m.name} (${m.owner}) was applied before checksums were kept: recorded its current checksum ${m.checksum} as the baseline`,
      );
    }
    const recorded = new Map(missing.map((m) => [m.name, m]));
    return {
      applied: applied.map((row) => {
        const m = recorded.get(row.name);
        return m ? { ...row, owner: m.owner, checksum: m.checksum } : row;
      }),
      baselined: missing.map((m) => m.name),
    };
  } catch (error) {
    if (runner.isTransactionActive) await runner.rollbackTransaction();
    throw error;
  }
}

/** The check on a given connection (`migration:run` holds the migration lock on it). */
export async function verifyMigrationsWith(
  runner: QueryRunner,
  dataSource: DataSource,
  sets: readonly MigrationSet[],
  options: VerifyMigrationsOptions = {},
): Promise<MigrationCheck> {
  const log = options.log ?? console;
  const table = migrationsTable(dataSource);
  const expected = await expectedMigrations(sets);
  let applied: AppliedMigration[] | undefined;
  try {
    applied = toApplied((await runner.query(appliedQuery(table))) as AppliedRow[]);
  } catch (error) {
    if (!isUndefinedTable(error)) throw error;
  }
  let baselined: string[] = [];
  if (
    applied === undefined ||
    applied.some((row) => row.checksum === null && expected.has(row.name))
  ) {
    ({ applied, baselined } = await baseline(runner, table, expected, log));
  }
  const owners = new Set(sets.map((set) => set.owner));
  const comparison = compareMigrations(applied, expected, owners, options.complete ?? false);
  if (comparison.problems.length > 0) throw new MigrationDriftError(comparison.problems);
  for (const name of comparison.future) {
    log.warn(`migration ${name} is applied but newer than this code: the database is ahead of it`);
  }
  return {
    applied: applied.length,
    pending: comparison.pending,
    future: comparison.future,
    baselined,
  };
}

/**
 * Checks that every applied migration of `sets` is still in the code with the SQL it
 * had when it was applied, and that none of their owners lost one; throws a
 * {@link MigrationDriftError} naming each that is not. One query when all is well.
 *
 * Migrations applied before checksums were kept get the code's checksum recorded once
 * (logged). Services run this at start-up with the sets they own and the libraries'
 * sets they use; `migration:run` runs it over every set before it migrates.
 */
export async function verifyMigrations(
  dataSource: DataSource,
  sets: readonly MigrationSet[],
  options: VerifyMigrationsOptions = {},
): Promise<MigrationCheck> {
  const runner = dataSource.createQueryRunner();
  try {
    return await verifyMigrationsWith(runner, dataSource, sets, options);
  } finally {
    await runner.release();
  }
}

/** Records (in the migration's own transaction) the checksum of a migration just applied. */
export async function recordChecksum(
  runner: QueryRunner,
  name: string,
  owner: string,
  checksum: string,
): Promise<void> {
  await runner.query(
    `INSERT INTO ${MIGRATION_CHECKSUMS_TABLE} (name, owner, checksum) VALUES ($1, $2, $3)
     ON CONFLICT (name) DO UPDATE
       SET owner = EXCLUDED.owner, checksum = EXCLUDED.checksum,
           recorded_at = now(), baseline = false`,
    [name, owner, checksum],
  );
}

/** Forgets the checksum of a migration just reverted (in the revert's transaction). */
export async function forgetChecksum(runner: QueryRunner, name: string): Promise<void> {
  await runner.query(`DELETE FROM ${MIGRATION_CHECKSUMS_TABLE} WHERE name = $1`, [name]);
}
