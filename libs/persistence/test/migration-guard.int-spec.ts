/**
 * The migration guard against the real PostgreSQL: `runMigrationsGuarded` records each
 * migration's checksum in the migration's own transaction, and both it and
 * `verifyMigrations` (the service start-up check) stop, naming the migration, when an
 * applied migration was edited or is missing from its owner's set. A database
 * migrated before checksums were kept is baselined once, and a database ahead of the
 * code (a rollback) is only warned about.
 *
 * How: small migrations of two owners (`alpha`, `beta`) are applied to empty databases
 * of their own; "edited" and "removed" are other classes with the same names, and sets
 * without a migration, as a later version of the code would have them.
 */
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import {
  dataSourceOptions,
  migrationChecksum,
  MigrationDriftError,
  runMigrationsGuarded,
  verifyMigrations,
  type MigrationLog,
  type MigrationSet,
} from '@clearline/persistence';
import {
  databaseUrl,
  dropDatabase,
  isolatedInfrastructure,
  withAdminDatabase,
  type IsolatedInfrastructure,
} from '@clearline/testing';

class CreateAlpha1700000000100 implements MigrationInterface {
  name = 'CreateAlpha1700000000100';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE alpha (id text PRIMARY KEY)`);
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE alpha`);
  }
}

class AddAlphaNote1700000000200 implements MigrationInterface {
  name = 'AddAlphaNote1700000000200';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE alpha ADD COLUMN note text`);
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE alpha DROP COLUMN note`);
  }
}

/** AddAlphaNote as someone edited it after it had landed. */
class AddAlphaNoteEdited extends AddAlphaNote1700000000200 {
  override async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE alpha ADD COLUMN note text NOT NULL DEFAULT ''`);
  }
}

class AddAlphaSize1700000000300 implements MigrationInterface {
  name = 'AddAlphaSize1700000000300';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE alpha ADD COLUMN size integer`);
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE alpha DROP COLUMN size`);
  }
}

class CreateBeta1700000000150 implements MigrationInterface {
  name = 'CreateBeta1700000000150';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE beta (id text PRIMARY KEY)`);
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE beta`);
  }
}

/** Creates a table, then fails: nothing of it may remain, its checksum included. */
class BrokenGamma1700000000400 implements MigrationInterface {
  name = 'BrokenGamma1700000000400';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE gamma (id text PRIMARY KEY)`);
    await runner.query(`SELECT 1 / 0`);
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE gamma`);
  }
}

const ALPHA: MigrationSet = {
  owner: 'alpha',
  migrations: [CreateAlpha1700000000100, AddAlphaNote1700000000200],
};
const BETA: MigrationSet = { owner: 'beta', migrations: [CreateBeta1700000000150] };

interface ChecksumRow {
  name: string;
  owner: string;
  checksum: string;
  baseline: boolean;
}

function recordingLog(): MigrationLog & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, log: () => undefined, warn: (message) => warnings.push(message) };
}

describe('migration guard (PostgreSQL)', () => {
  const created: string[] = [];
  const open: DataSource[] = [];
  // Named after this file's isolation, so the run's teardown finds what a crash left.
  let infra: IsolatedInfrastructure;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
  });

  async function emptyDatabase(): Promise<string> {
    const name = `${infra.name}_${created.length}`;
    await withAdminDatabase((client) => client.query(`CREATE DATABASE "${name}"`));
    created.push(name);
    return databaseUrl(name);
  }

  async function connect(url: string, migrations: MigrationSet[] = []): Promise<DataSource> {
    const dataSource = new DataSource(
      dataSourceOptions({
        url,
        applicationName: 'clearline-guard-test',
        poolSize: 2,
        migrations: migrations.flatMap((set) => set.migrations),
      }),
    );
    await dataSource.initialize();
    open.push(dataSource);
    return dataSource;
  }

  function migrate(url: string, sets: MigrationSet[], revert = false): Promise<string[]> {
    const log = recordingLog();
    return runMigrationsGuarded({
      url,
      applicationName: 'clearline-guard-test',
      sets,
      revert,
      log,
    });
  }

  async function checksums(dataSource: DataSource): Promise<ChecksumRow[]> {
    return dataSource.query<ChecksumRow[]>(
      `SELECT name, owner, checksum, baseline FROM migration_checksums ORDER BY name`,
    );
  }

  async function tableExists(dataSource: DataSource, table: string): Promise<boolean> {
    const [row] = await dataSource.query<{ found: boolean }[]>(
      `SELECT to_regclass($1) IS NOT NULL AS found`,
      [table],
    );
    return row!.found;
  }

  afterAll(async () => {
    await Promise.all(open.map((dataSource) => dataSource.destroy()));
    await withAdminDatabase(async (client) => {
      for (const name of created) await dropDatabase(client, name);
    });
    await infra.destroy();
  });

  it("records the checksum of each migration it applies, in that migration's transaction", async () => {
    const url = await emptyDatabase();
    await expect(migrate(url, [ALPHA, BETA])).resolves.toEqual([
      'CreateAlpha1700000000100',
      'CreateBeta1700000000150',
      'AddAlphaNote1700000000200',
    ]);
    const dataSource = await connect(url);
    expect(await checksums(dataSource)).toEqual([
      {
        name: 'AddAlphaNote1700000000200',
        owner: 'alpha',
        checksum: await migrationChecksum(AddAlphaNote1700000000200),
        baseline: false,
      },
      {
        name: 'CreateAlpha1700000000100',
        owner: 'alpha',
        checksum: await migrationChecksum(CreateAlpha1700000000100),
        baseline: false,
      },
      {
        name: 'CreateBeta1700000000150',
        owner: 'beta',
        checksum: await migrationChecksum(CreateBeta1700000000150),
        baseline: false,
      },
    ]);

    // A migration that fails leaves neither its table nor its checksum behind.
    const broken: MigrationSet = {
      owner: 'alpha',
      migrations: [...ALPHA.migrations, BrokenGamma1700000000400],
    };
    await expect(migrate(url, [broken, BETA])).rejects.toThrow('division by zero');
    expect(await tableExists(dataSource, 'gamma')).toBe(false);
    expect((await checksums(dataSource)).map((row) => row.name)).not.toContain(
      'BrokenGamma1700000000400',
    );
    // And a run with nothing pending is quiet.
    await expect(migrate(url, [ALPHA, BETA])).resolves.toEqual([]);
  });

  it('stops migration:run and the service check on an edited migration, naming it', async () => {
    const url = await emptyDatabase();
    await migrate(url, [ALPHA, BETA]);
    const edited: MigrationSet = {
      owner: 'alpha',
      migrations: [CreateAlpha1700000000100, AddAlphaNoteEdited, AddAlphaSize1700000000300],
    };

    const run = migrate(url, [edited, BETA]);
    await expect(run).rejects.toThrow(MigrationDriftError);
    await expect(run).rejects.toThrow(
      `AddAlphaNote1700000000200 (alpha): changed since it was applied (checksum ${await migrationChecksum(AddAlphaNote1700000000200)} applied, ${await migrationChecksum(AddAlphaNoteEdited)} in the code)`,
    );
    await expect(run).rejects.toThrow(
      'Landed migrations are never edited or removed: restore the migration as it was applied, and write a new migration for the change.',
    );
    // Stopped before anything ran: the pending migration was not applied.
    const dataSource = await connect(url);
    const columns = await dataSource.query<{ column_name: string }[]>(
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'alpha'`,
    );
    expect(columns.map((c) => c.column_name).sort()).toEqual(['id', 'note']);

    // A service that owns alpha refuses; one that only owns beta has nothing to say.
    await expect(verifyMigrations(dataSource, [edited])).rejects.toThrow(
      /AddAlphaNote1700000000200 \(alpha\): changed since it was applied/,
    );
    await expect(verifyMigrations(dataSource, [BETA])).resolves.toMatchObject({ applied: 3 });
  });

  it('stops on an applied migration that its owner no longer has', async () => {
    const url = await emptyDatabase();
    await migrate(url, [ALPHA, BETA]);
    const removed: MigrationSet = {
      owner: 'alpha',
      migrations: [AddAlphaNote1700000000200, AddAlphaSize1700000000300],
    };
    const message =
      'CreateAlpha1700000000100 (alpha): applied to this database, missing from the code';
    await expect(migrate(url, [removed, BETA])).rejects.toThrow(message);
    const dataSource = await connect(url);
    await expect(verifyMigrations(dataSource, [removed])).rejects.toThrow(message);
    // migration:run lists every owner: a whole owner gone is missing too.
    await expect(migrate(url, [ALPHA])).rejects.toThrow(
      'CreateBeta1700000000150 (beta): applied to this database, missing from the code',
    );
    // The service check leaves beta's migrations to beta's services.
    await expect(verifyMigrations(dataSource, [ALPHA])).resolves.toMatchObject({ applied: 3 });
  });

  it('baselines a database migrated before checksums were kept, once, and says so', async () => {
    const url = await emptyDatabase();
    const before = await connect(url, [ALPHA, BETA]);
    await before.runMigrations({ transaction: 'each' });
    expect(await tableExists(before, 'migration_checksums')).toBe(false);

    const log = recordingLog();
    await expect(verifyMigrations(before, [ALPHA], { log })).resolves.toEqual({
      applied: 3,
      pending: [],
      future: [],
      baselined: ['CreateAlpha1700000000100', 'AddAlphaNote1700000000200'],
    });
    expect(log.warnings).toEqual([
      expect.stringMatching(
        /^migration CreateAlpha1700000000100 \(alpha\) was applied before checksums were kept: recorded its current checksum [0-9a-f]{64} as the baseline$/,
      ),
      expect.stringMatching(/^migration AddAlphaNote1700000000200 \(alpha\) was applied before/),
    ]);
    expect((await checksums(before)).map((row) => [row.name, row.baseline])).toEqual([
      ['AddAlphaNote1700000000200', true],
      ['CreateAlpha1700000000100', true],
    ]);

    // migration:run baselines what is left (beta), then applies as usual.
    const next: MigrationSet = {
      owner: 'alpha',
      migrations: [...ALPHA.migrations, AddAlphaSize1700000000300],
    };
    await expect(migrate(url, [next, BETA])).resolves.toEqual(['AddAlphaSize1700000000300']);
    expect((await checksums(before)).map((row) => [row.name, row.baseline])).toEqual([
      ['AddAlphaNote1700000000200', true],
      ['AddAlphaSize1700000000300', false],
      ['CreateAlpha1700000000100', true],
      ['CreateBeta1700000000150', true],
    ]);

    // From now on an edit is caught, and the check that passes is one query.
    await expect(
      verifyMigrations(before, [
        { owner: 'alpha', migrations: [CreateAlpha1700000000100, AddAlphaNoteEdited] },
      ]),
    ).rejects.toThrow(/AddAlphaNote1700000000200 \(alpha\): changed/);
    const createQueryRunner = before.createQueryRunner.bind(before);
    let queries = 0;
    const spy = jest.spyOn(before, 'createQueryRunner').mockImplementation((mode) => {
      const runner = createQueryRunner(mode);
      const query = runner.query.bind(runner);
      runner.query = ((...args: Parameters<QueryRunner['query']>) => {
        queries += 1;
        return query(...args);
      }) as QueryRunner['query'];
      return runner;
    });
    const quiet = recordingLog();
    await verifyMigrations(before, [next, BETA], { log: quiet });
    spy.mockRestore();
    expect(queries).toBe(1);
    expect(quiet.warnings).toEqual([]);
  });

  it("forgets the checksum of a reverted migration, in the revert's transaction", async () => {
    const url = await emptyDatabase();
    await migrate(url, [ALPHA, BETA]);
    await migrate(url, [ALPHA, BETA], true);
    const dataSource = await connect(url);
    expect((await checksums(dataSource)).map((row) => row.name)).toEqual([
      'CreateAlpha1700000000100',
      'CreateBeta1700000000150',
    ]);
    await expect(verifyMigrations(dataSource, [ALPHA, BETA])).resolves.toMatchObject({
      pending: ['AddAlphaNote1700000000200'],
    });
  });

  it('only warns about a migration newer than the code knows (a database ahead of it)', async () => {
    const url = await emptyDatabase();
    const newer: MigrationSet = {
      owner: 'alpha',
      migrations: [...ALPHA.migrations, AddAlphaSize1700000000300],
    };
    await migrate(url, [newer, BETA]);
    const dataSource = await connect(url);
    const log = recordingLog();
    await expect(verifyMigrations(dataSource, [ALPHA], { log })).resolves.toMatchObject({
      future: ['AddAlphaSize1700000000300'],
    });
    expect(log.warnings).toEqual([
      'migration AddAlphaSize1700000000300 is applied but newer than this code: the database is ahead of it',
    ]);
  });
});
