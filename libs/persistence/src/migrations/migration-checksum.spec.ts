import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  migrationChecksum,
  MigrationRuleError,
  normaliseSql,
  recordMigrationSql,
} from './migration-checksum';

class CreateThings1700000000001 implements MigrationInterface {
  name = 'CreateThings1700000000001';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE things (
        id text PRIMARY KEY
      )`);
    await runner.query(`INSERT INTO things (id) VALUES ($1)`, ['first']);
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE things`);
  }
}

/** The same SQL, indented differently. */
class Reindented1700000000001 implements MigrationInterface {
  name = 'CreateThings1700000000001';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE things ( id text PRIMARY KEY )`);
    await runner.query(
      `INSERT INTO   things (id)
                          VALUES ($1)`,
      ['first'],
    );
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`  DROP TABLE things  `);
  }
}

/** A landed migration edited: one column more. */
class Edited1700000000001 implements MigrationInterface {
  name = 'CreateThings1700000000001';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE things (id text PRIMARY KEY, note text)`);
    await runner.query(`INSERT INTO things (id) VALUES ($1)`, ['first']);
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE things`);
  }
}

/** Edited only in down(): still an edit of a landed migration. */
class EditedDown1700000000001 extends CreateThings1700000000001 {
  override async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE things CASCADE`);
  }
}

/** Other parameters are other SQL. */
class OtherParameters1700000000001 extends CreateThings1700000000001 {
  override async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE things (id text PRIMARY KEY)`);
    await runner.query(`INSERT INTO things (id) VALUES ($1)`, ['second']);
  }
}

class UsesSchemaBuilder1700000000002 implements MigrationInterface {
  name = 'UsesSchemaBuilder1700000000002';
  async up(runner: QueryRunner): Promise<void> {
    await runner.dropTable('things');
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`SELECT 1`);
  }
}

class ReadsResults1700000000003 implements MigrationInterface {
  name = 'ReadsResults1700000000003';
  async up(runner: QueryRunner): Promise<void> {
    const [row] = (await runner.query(`SELECT count(*) AS n FROM things`)) as { n: string }[];
    await runner.query(`SELECT ${row!.n}`);
  }
  async down(): Promise<void> {}
}

describe('migration checksums', () => {
  it('record the SQL each phase issues, whitespace collapsed, with parameters', async () => {
    await expect(recordMigrationSql(CreateThings1700000000001)).resolves.toEqual({
      up: [
        'CREATE TABLE things ( id text PRIMARY KEY )',
        'INSERT INTO things (id) VALUES ($1) -- ["first"]',
      ],
      down: ['DROP TABLE things'],
    });
    expect(normaliseSql('\n  a\t b  \n')).toBe('a b');
  });

  it('are sha256 hex, and the same for the same SQL however it is indented', async () => {
    const checksum = await migrationChecksum(CreateThings1700000000001);
    expect(checksum).toMatch(/^[0-9a-f]{64}$/);
    await expect(migrationChecksum(Reindented1700000000001)).resolves.toBe(checksum);
  });

  it('change when up(), down() or the parameters change', async () => {
    const checksum = await migrationChecksum(CreateThings1700000000001);
    const edited = await Promise.all(
      [Edited1700000000001, EditedDown1700000000001, OtherParameters1700000000001].map((m) =>
        migrationChecksum(m),
      ),
    );
    expect(new Set([checksum, ...edited]).size).toBe(4);
  });

  it('refuse, naming the migration and the rule, a migration that uses the runner otherwise', async () => {
    const refusal = migrationChecksum(UsesSchemaBuilder1700000000002);
    await expect(refusal).rejects.toThrow(MigrationRuleError);
    await expect(refusal).rejects.toThrow(
      'migration UsesSchemaBuilder1700000000002: up() used runner.dropTable; migrations issue SQL through runner.query(sql, parameters?) only',
    );
  });

  it('refuse a migration that depends on what its queries return', async () => {
    await expect(migrationChecksum(ReadsResults1700000000003)).rejects.toThrow(
      /migration ReadsResults1700000000003: up\(\) failed against the SQL recorder/,
    );
  });
});
