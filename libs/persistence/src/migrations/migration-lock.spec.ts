import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  appendToLock,
  compareWithLock,
  landedMigrationEdits,
  migrationLockEntries,
  type MigrationLockEntry,
} from './migration-lock';

class CreateThings1700000000001 implements MigrationInterface {
  name = 'CreateThings1700000000001';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE things (id text PRIMARY KEY)`);
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE things`);
  }
}

class CreateOthers1700000000002 implements MigrationInterface {
  name = 'CreateOthers1700000000002';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE others (id text PRIMARY KEY)`);
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE others`);
  }
}

function entry(name: string, checksum: string, owner = 'things'): MigrationLockEntry {
  return { name, owner, checksum };
}

describe('migration lock', () => {
  it('lists the migrations of the sets with owner and checksum, in order', async () => {
    const entries = await migrationLockEntries([
      { owner: 'things', migrations: [CreateThings1700000000001] },
      { owner: 'others', migrations: [CreateOthers1700000000002] },
    ]);
    expect(entries.map(({ name, owner }) => [name, owner])).toEqual([
      ['CreateThings1700000000001', 'things'],
      ['CreateOthers1700000000002', 'others'],
    ]);
    expect(entries[0]?.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it('appends new migrations and keeps the landed ones as they are', () => {
    const locked = [entry('A1700000000001', 'a')];
    const current = [entry('A1700000000001', 'a'), entry('B1700000000002', 'b')];
    expect(compareWithLock(locked, current)).toEqual({
      changed: [],
      removed: [],
      unlisted: [entry('B1700000000002', 'b')],
    });
    expect(appendToLock(locked, current)).toEqual(current);
  });

  it('refuses to bless an edited or removed landed migration, naming each', () => {
    const locked = [entry('A1700000000001', 'a'), entry('B1700000000002', 'b')];
    const current = [entry('A1700000000001', 'edited')];
    const message = [
      'Landed migrations differ from scripts/migrations.lock.json:',
      '  - A1700000000001 (things): edited (checksum a locked, edited in the code)',
      '  - B1700000000002 (things): removed from the code',
      'Landed migrations are never edited or removed: restore them, and write a new migration for the change.',
    ].join('\n');
    expect(landedMigrationEdits(compareWithLock(locked, current))).toBe(message);
    expect(() => appendToLock(locked, current)).toThrow(message);
  });

  it('counts a migration moved to another owner as edited', () => {
    const diff = compareWithLock(
      [entry('A1700000000001', 'a')],
      [entry('A1700000000001', 'a', 'x')],
    );
    expect(landedMigrationEdits(diff)).toContain(
      'A1700000000001 (things): edited (checksum a locked, a in the code, owner now x)',
    );
  });
});
