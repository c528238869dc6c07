import { expectedMigrations } from './migration-drift';
import type { MigrationSet } from './migration-set';

/** One landed migration in the committed manifest. */
export interface MigrationLockEntry {
  name: string;
  owner: string;
  checksum: string;
}

/** How the code differs from the committed manifest of landed migrations. */
export interface MigrationLockDiff {
  /** Listed, but the SQL (or the owner) is not what was locked: a landed migration was edited. */
  changed: { locked: MigrationLockEntry; current: MigrationLockEntry }[];
  /** Listed, gone from the code: a landed migration was removed. */
  removed: MigrationLockEntry[];
  /** In the code, not listed yet: a new migration, to append with `npm run migration:lock`. */
  unlisted: MigrationLockEntry[];
}

/** The manifest entries of the code as it is, in the order the sets list them. */
export async function migrationLockEntries(
  sets: readonly MigrationSet[],
): Promise<MigrationLockEntry[]> {
  const expected = await expectedMigrations(sets);
  return [...expected.values()].map(({ name, owner, checksum }) => ({ name, owner, checksum }));
}

export function compareWithLock(
  locked: readonly MigrationLockEntry[],
  current: readonly MigrationLockEntry[],
): MigrationLockDiff {
  const byName = new Map(current.map((entry) => [entry.name, entry]));
  const lockedNames = new Set(locked.map((entry) => entry.name));
  const diff: MigrationLockDiff = { changed: [], removed: [], unlisted: [] };
  for (const entry of locked) {
    const now = byName.get(entry.name);
    if (!now) diff.removed.push(entry);
    else if (now.checksum !== entry.checksum || now.owner !== entry.owner) {
      diff.changed.push({ locked: entry, current: now });
    }
  }
  diff.unlisted = current.filter((entry) => !lockedNames.has(entry.name));
  return diff;
}

/** The message for edited or removed landed migrations, or null when there are none. */
export function landedMigrationEdits(diff: MigrationLockDiff): string | null {
  if (diff.changed.length === 0 && diff.removed.length === 0) return null;
  return [
    'Landed migrations differ from scripts/migrations.lock.json:',
    ...diff.changed.map(
      ({ locked, current }) =>
        `  - ${locked.name} (${locked.owner}): edited (checksum ${locked.checksum} locked, ${current.checksum} in the code${current.owner === locked.owner ? '' : `, owner now ${current.owner}`})`,
    ),
    ...diff.removed.map((entry) => `  - ${entry.name} (${entry.owner}): removed from the code`),
    'Landed migrations are never edited or removed: restore them, and write a new migration for the change.',
  ].join('\n');
}

/**
 * The manifest with the code's new migrations appended; refuses (throws) when a
 * landed one was edited or removed, so locking can never bless an edit.
 */
export function appendToLock(
  locked: readonly MigrationLockEntry[],
  current: readonly MigrationLockEntry[],
): MigrationLockEntry[] {
  const diff = compareWithLock(locked, current);
  const edits = landedMigrationEdits(diff);
  if (edits !== null) throw new Error(edits);
  return [...locked, ...diff.unlisted];
}
