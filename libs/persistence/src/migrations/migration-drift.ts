import { migrationChecksum } from './migration-checksum';
import { migrationName, migrationTimestamp, type MigrationSet } from './migration-set';

/** One row of TypeORM's `migrations` table, with what `migration_checksums` holds for it. */
export interface AppliedMigration {
  name: string;
  timestamp: number;
  /** Null when no checksum was ever recorded (applied before the guard existed). */
  owner: string | null;
  checksum: string | null;
}

/** A migration as the code has it now. */
export interface ExpectedMigration {
  name: string;
  owner: string;
  checksum: string;
  timestamp: number;
}

/** Why the database and the code disagree about a migration that was applied. */
export interface MigrationProblem {
  kind: 'changed' | 'missing';
  name: string;
  owner: string | null;
  /** For `changed`: the checksum recorded when it was applied, and the one in the code. */
  applied?: string;
  current?: string;
}

export interface MigrationComparison {
  problems: MigrationProblem[];
  /** In the code, not applied yet. */
  pending: string[];
  /**
   * Applied, unknown to the code, and newer than every migration its owner has in the
   * code: the database is ahead of this (older) code, as during a rollback.
   */
  future: string[];
}

/** Every migration of the sets with its checksum in the code, keyed by name. */
export async function expectedMigrations(
  sets: readonly MigrationSet[],
): Promise<Map<string, ExpectedMigration>> {
  const listed = sets.flatMap((set) =>
    set.migrations.map((migration) => ({ set, migration, name: migrationName(migration) })),
  );
  // Recording is CPU only and cached per class: no bound needed.
  const checksums = await Promise.all(listed.map(({ migration }) => migrationChecksum(migration)));
  const expected = new Map<string, ExpectedMigration>();
  listed.forEach(({ set, name }, i) => {
    const other = expected.get(name);
    if (other) throw new Error(`migration ${name} is listed by ${other.owner} and ${set.owner}`);
    const checksum = checksums[i] ?? '';
    expected.set(name, { name, owner: set.owner, checksum, timestamp: migrationTimestamp(name) });
  });
  return expected;
}

function newestByOwner(expected: Iterable<ExpectedMigration>): Map<string, number> {
  const newest = new Map<string, number>();
  for (const migration of expected) {
    newest.set(migration.owner, Math.max(newest.get(migration.owner) ?? 0, migration.timestamp));
  }
  return newest;
}

/**
 * Compares what was applied with the code. `owners` are the owners this process checks;
 * `complete` says they are every owner of the database (`migration:run`), so an applied
 * migration nobody lists is missing too. A process that checks only some owners leaves
 * the others' migrations to them.
 */
export function compareMigrations(
  applied: readonly AppliedMigration[],
  expected: ReadonlyMap<string, ExpectedMigration>,
  owners: ReadonlySet<string>,
  complete: boolean,
): MigrationComparison {
  const newest = newestByOwner(expected.values());
  const newestOverall = Math.max(0, ...newest.values());
  const problems: MigrationProblem[] = [];
  const future: string[] = [];
  for (const row of applied) {
    const known = expected.get(row.name);
    if (known) {
      if (row.checksum !== null && row.checksum !== known.checksum) {
        problems.push({
          kind: 'changed',
          name: row.name,
          owner: known.owner,
          applied: row.checksum,
          current: known.checksum,
        });
      }
      continue;
    }
    const mine = row.owner !== null && owners.has(row.owner);
    if (!mine && !complete) continue;
    const newestOfOwner = mine && row.owner !== null ? (newest.get(row.owner) ?? 0) : newestOverall;
    if (row.timestamp > newestOfOwner) future.push(row.name);
    else problems.push({ kind: 'missing', name: row.name, owner: row.owner });
  }
  const appliedNames = new Set(applied.map((row) => row.name));
  const pending = [...expected.keys()].filter((name) => !appliedNames.has(name));
  return { problems, pending, future };
}

function describe(problem: MigrationProblem): string {
  const who = `${problem.name} (${problem.owner ?? 'owner unknown'})`;
  switch (problem.kind) {
    case 'changed':
      return `${who}: changed since it was applied (checksum ${problem.applied ?? '?'} applied, ${problem.current ?? '?'} in the code)`;
    case 'missing':
      return `${who}: applied to this database, missing from the code`;
  }
}

/**
 * The database was migrated by migrations that the code no longer has as they were.
 * The process stops: running against a schema that differs from what the migrations
 * describe is how money code meets a constraint it thinks is there and is not.
 */
export class MigrationDriftError extends Error {
  override readonly name = 'MigrationDriftError';

  constructor(readonly problems: readonly MigrationProblem[]) {
    super(
      [
        'Applied migrations differ from the code:',
        ...problems.map((problem) => `  - ${describe(problem)}`),
        'Landed migrations are never edited or removed: restore the migration as it was applied, and write a new migration for the change.',
      ].join('\n'),
    );
  }
}
