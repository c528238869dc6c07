/**
 * The review-time guard: scripts/migrations.lock.json lists every landed migration with
 * the checksum of the SQL it issues. Editing or removing a listed migration fails here,
 * in CI, before any database sees it; a new migration fails until it is appended with
 * `npm run migration:lock`. Also proves that a checksum does not depend on how the code
 * is run: tsc's JavaScript (production) gives the checksum SWC's (development) gives.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runInThisContext } from 'node:vm';
import * as ts from 'typescript';
import {
  compareWithLock,
  landedMigrationEdits,
  migrationChecksum,
  migrationLockEntries,
  type MigrationClass,
} from '@clearline/persistence';
import { readLock } from './migration-lock';
import { MIGRATION_SETS } from './migrations';

const ROOT = resolve(__dirname, '..');

/** Every migration file of the repository (libraries' and services'). */
function migrationFiles(): string[] {
  const folders = [
    'libs/tasks/src/migrations',
    ...readdirSync(join(ROOT, 'services')).map((s) => `services/${s}/src/migrations`),
  ];
  return folders.flatMap((folder) => {
    let names: string[];
    try {
      names = readdirSync(join(ROOT, folder));
    } catch {
      return [];
    }
    return names.filter((n) => /^\d{13}-\w+\.ts$/.test(n)).map((n) => join(ROOT, folder, n));
  });
}

/** The migration class of a file as tsc compiles it for production (see tsconfig.build.json). */
function compiledByTsc(file: string): MigrationClass {
  const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      experimentalDecorators: true,
      useDefineForClassFields: false,
    },
    fileName: file,
  });
  const module = { exports: {} as Record<string, unknown> };
  const load = runInThisContext(`(function (exports, require, module) {${outputText}\n})`, {
    filename: file,
  }) as (exports: object, require: NodeJS.Require, module: object) => void;
  load(module.exports, require, module);
  const [migration] = Object.values(module.exports).filter((v) => typeof v === 'function');
  if (!migration) throw new Error(`${file} exports no migration class`);
  return migration as MigrationClass;
}

describe('scripts/migrations.lock.json', () => {
  it('lists every landed migration as it landed (never edit one: write a new migration)', async () => {
    const diff = compareWithLock(readLock(), await migrationLockEntries(MIGRATION_SETS));
    expect(landedMigrationEdits(diff)).toBeNull();
  });

  it('lists every migration in the code (append new ones with npm run migration:lock)', async () => {
    const diff = compareWithLock(readLock(), await migrationLockEntries(MIGRATION_SETS));
    expect(diff.unlisted.map((entry) => entry.name)).toEqual([]);
  });

  it('holds checksums that tsc-compiled migrations (production) give as well', async () => {
    const files = migrationFiles();
    const current = new Map(
      (await migrationLockEntries(MIGRATION_SETS)).map((entry) => [entry.name, entry.checksum]),
    );
    expect(files.length).toBe(current.size);
    for (const file of files) {
      const migration = compiledByTsc(file);
      const name = new migration().name ?? migration.name;
      expect([name, await migrationChecksum(migration)]).toEqual([name, current.get(name)]);
    }
  });
});
