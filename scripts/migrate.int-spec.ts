/**
 * `npm run migration:run` repairs the ledger's drift: CreateLedgerTables1764100000000
 * was edited after it landed, so a database migrated with its first version differs
 * from one migrated today. After the run both have the same schema.
 *
 * How: "today" is a copy of the run's template, migrated from scratch by this very
 * command. "Before" is an empty database migrated the way it was before checksums
 * were kept (plain TypeORM), with the first version of CreateLedgerTables (a fixture
 * taken from git) and without RepairLedgerTablesDrift. Their `pg_dump --schema-only`
 * differ; then `runMigrations` baselines "before" (saying so) and applies the repair,
 * and the dumps are equal, byte for byte.
 */
import { execFileSync } from 'node:child_process';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '@clearline/persistence';
import {
  databaseUrl,
  dropDatabase,
  isolatedInfrastructure,
  withAdminDatabase,
  type IsolatedInfrastructure,
} from '@clearline/testing';
import { CreateLedgerTables1764100000000 } from '../services/ledger/src/migrations/1764100000000-CreateLedgerTables';
import { RepairLedgerTablesDrift1796232571706 } from '../services/ledger/src/migrations/1796232571706-RepairLedgerTablesDrift';
import { OriginalCreateLedgerTables1764100000000 } from '../services/ledger/test/fixtures/create-ledger-tables.original';
import { runMigrations } from './migrate';
import { MIGRATION_SETS } from './migrations';

/** The schema as pg_dump prints it (the same pg_dump for both databases). */
function schema(url: string): string {
  return (
    execFileSync('pg_dump', ['--schema-only', '--no-owner', '--no-privileges', url], {
      encoding: 'utf8',
    })
      .split('\n')
      // pg_dump 17.6+ brackets its output with a random \restrict key.
      .filter((line) => !/^\\(un)?restrict /.test(line))
      .join('\n')
  );
}

/** Every migration of today, applied as before the guard: first ledger version, no repair. */
async function migrateAsBefore(url: string): Promise<void> {
  const migrations = MIGRATION_SETS.flatMap((set) => set.migrations)
    .filter((m) => m !== RepairLedgerTablesDrift1796232571706)
    .map((m) =>
      m === CreateLedgerTables1764100000000 ? OriginalCreateLedgerTables1764100000000 : m,
    );
  const dataSource = new DataSource(
    dataSourceOptions({ url, applicationName: 'clearline-migrate-test', poolSize: 1, migrations }),
  );
  await dataSource.initialize();
  try {
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await dataSource.destroy();
  }
}

describe('npm run migration:run and the ledger drift', () => {
  let infra: IsolatedInfrastructure;
  let before: string;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    before = `${infra.name}_before`;
    await withAdminDatabase((client) => client.query(`CREATE DATABASE "${before}"`));
  });

  afterAll(async () => {
    await withAdminDatabase((client) => dropDatabase(client, before));
    await infra.destroy();
  });

  it('brings a ledger migrated with the first CreateLedgerTables to the schema of one migrated today', async () => {
    const beforeUrl = databaseUrl(before);
    await migrateAsBefore(beforeUrl);
    const drifted = schema(beforeUrl);
    expect(drifted).toContain('ledger_transfers_debit_account_id_fkey');
    expect(drifted).not.toContain('ledger_accounts_no_delete');
    expect(drifted).not.toBe(schema(infra.databaseUrl));

    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      await expect(runMigrations(beforeUrl)).resolves.toEqual([
        'RepairLedgerTablesDrift1796232571706',
      ]);
      expect(warn).toHaveBeenCalledWith(
        expect.stringMatching(
          /^migration CreateLedgerTables1764100000000 \(ledger\) was applied before checksums were kept: recorded its current checksum [0-9a-f]{64} as the baseline$/,
        ),
      );
    } finally {
      warn.mockRestore();
    }
    expect(schema(beforeUrl)).toBe(schema(infra.databaseUrl));
  });
});
