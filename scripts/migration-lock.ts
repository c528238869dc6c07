/**
 * `npm run migration:lock`: appends the code's new migrations, with their checksums,
 * to scripts/migrations.lock.json, the committed manifest of landed migrations that
 * `scripts/migrations.spec.ts` holds the code to. It refuses when a landed migration
 * was edited or removed: nothing can bless an edit; write a new migration instead.
 */
import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  appendToLock,
  migrationLockEntries,
  type MigrationLockEntry,
} from '@clearline/persistence';
import { MIGRATION_SETS } from './migrations';

export const LOCK_PATH = resolve(__dirname, 'migrations.lock.json');

const NOTE =
  'Landed migrations and their checksums (sha256 of the SQL they issue). Never edit a landed migration: write a new one, then append it with npm run migration:lock.';

interface LockFile {
  note: string;
  migrations: readonly MigrationLockEntry[];
}

export function readLock(): readonly MigrationLockEntry[] {
  return (JSON.parse(readFileSync(LOCK_PATH, 'utf8')) as LockFile).migrations;
}

export function renderLock(migrations: readonly MigrationLockEntry[]): string {
  return `${JSON.stringify({ note: NOTE, migrations } satisfies LockFile, null, 2)}\n`;
}

async function main(): Promise<void> {
  const locked = readLock();
  const next = appendToLock(locked, await migrationLockEntries(MIGRATION_SETS));
  writeFileSync(LOCK_PATH, renderLock(next));
  const added = next.slice(locked.length).map((entry) => entry.name);
  console.log(added.length > 0 ? `locked: ${added.join(', ')}` : 'nothing new to lock');
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
