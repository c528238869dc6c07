/**
 * The ledger refuses to start on a database whose applied migrations are not those in
 * its code: one applied with other SQL (CreateLedgerTables as it first landed) or one
 * its code no longer has. It stops with a message that names the migration and the
 * rule, before it has touched the broker; on a database that matches, it starts.
 *
 * How: the ledger runs as in production (`main.ts`, its own process) on the file's
 * vhost and database (migrated from scratch by `migration:run`, so with checksums).
 * The test rewrites `migration_checksums` and `migrations` as such databases would
 * have them; "never touched the broker" is that the ledger's queue was never declared.
 */
import { connect } from 'amqplib';
import { Client } from 'pg';
import { migrationChecksum } from '@clearline/persistence';
import {
  isolatedInfrastructure,
  SERVICE_START_TIMEOUT_MS,
  startServiceOnFreePort,
  type IsolatedInfrastructure,
} from '@clearline/testing';
import { OriginalCreateLedgerTables1764100000000 } from './fixtures/create-ledger-tables.original';

// Every test starts (or tries to start) the ledger as a process: on a loaded machine
// that takes longer than Jest's 60 s default.
jest.setTimeout(SERVICE_START_TIMEOUT_MS);

const RULE =
  'Landed migrations are never edited or removed: restore the migration as it was applied, and write a new migration for the change.';

async function queueDeclared(amqpUrl: string, queue: string): Promise<boolean> {
  const connection = await connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    return await channel.checkQueue(queue).then(
      () => true,
      () => false,
    );
  } finally {
    await connection.close();
  }
}

/**
 * Removes the queue the test vhost was prepared with, so a ledger that started would
 * have declared it again (a service declares its own queues).
 */
async function removeQueue(amqpUrl: string, queue: string): Promise<void> {
  const connection = await connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    await channel.deleteQueue(queue);
  } finally {
    await connection.close();
  }
}

describe('ledger start-up migration check', () => {
  let infra: IsolatedInfrastructure;
  let db: Client;
  let env: Record<string, string>;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    db = new Client({ connectionString: infra.databaseUrl });
    await db.connect();
    env = { ...infra.env, NO_COLOR: '1' };
  });

  afterAll(async () => {
    await db.end();
    await infra.destroy();
  });

  it('refuses to start when CreateLedgerTables was applied with other SQL, naming it', async () => {
    const { rows } = await db.query<{ checksum: string }>(
      `SELECT checksum FROM migration_checksums WHERE name = 'CreateLedgerTables1764100000000'`,
    );
    const today = rows[0]!.checksum;
    const original = await migrationChecksum(OriginalCreateLedgerTables1764100000000);
    await db.query(`UPDATE migration_checksums SET checksum = $1 WHERE name = $2`, [
      original,
      'CreateLedgerTables1764100000000',
    ]);
    try {
      await removeQueue(infra.amqpUrl, 'ledger');
      const start = startServiceOnFreePort('ledger', env);
      await expect(start).rejects.toThrow(
        `CreateLedgerTables1764100000000 (ledger): changed since it was applied (checksum ${original} applied, ${today} in the code)`,
      );
      await expect(start).rejects.toThrow(RULE);
      expect(await queueDeclared(infra.amqpUrl, 'ledger')).toBe(false);
    } finally {
      await db.query(`UPDATE migration_checksums SET checksum = $1 WHERE name = $2`, [
        today,
        'CreateLedgerTables1764100000000',
      ]);
    }
  });

  it('refuses to start when a ledger migration it applied is missing from its code', async () => {
    const gone = 'AddLedgerMemo1764150000000';
    await db.query(`INSERT INTO migrations (timestamp, name) VALUES ($1, $2)`, [
      1764150000000,
      gone,
    ]);
    await db.query(
      `INSERT INTO migration_checksums (name, owner, checksum) VALUES ($1, 'ledger', 'x')`,
      [gone],
    );
    try {
      await removeQueue(infra.amqpUrl, 'ledger');
      const start = startServiceOnFreePort('ledger', env);
      await expect(start).rejects.toThrow(
        `${gone} (ledger): applied to this database, missing from the code`,
      );
      await expect(start).rejects.toThrow(RULE);
      expect(await queueDeclared(infra.amqpUrl, 'ledger')).toBe(false);
    } finally {
      await db.query(`DELETE FROM migration_checksums WHERE name = $1`, [gone]);
      await db.query(`DELETE FROM migrations WHERE name = $1`, [gone]);
    }
  });

  it('starts on a database that matches its code', async () => {
    const ledger = await startServiceOnFreePort('ledger', env);
    try {
      expect(await queueDeclared(infra.amqpUrl, 'ledger')).toBe(true);
    } finally {
      await ledger.stop();
    }
  });
});
