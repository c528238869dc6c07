/**
 * `npm run migration:run`: applies pending migrations to DATABASE_URL
 * (`npm run migration:run -- --revert` undoes the last one).
 */
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '@clearline/persistence';
import { ALL_MIGRATIONS } from './migrations';

const DEFAULT_URL = 'postgres://clearline:clearline@127.0.0.1:5432/clearline';

export async function runMigrations(url: string, revert = false): Promise<string[]> {
  const dataSource = new DataSource(
    dataSourceOptions({
      url,
      applicationName: 'clearline-migrate',
      poolSize: 2,
      migrations: ALL_MIGRATIONS,
    }),
  );
  await dataSource.initialize();
  try {
    if (revert) {
      await dataSource.undoLastMigration({ transaction: 'each' });
      return [];
    }
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  } finally {
    await dataSource.destroy();
  }
}

if (require.main === module) {
  const url = process.env['DATABASE_URL'] ?? DEFAULT_URL;
  runMigrations(url, process.argv.includes('--revert'))
    .then((applied) => {
      console.log(
        applied.length > 0 ? `applied: ${applied.join(', ')}` : 'database schema is up to date',
      );
    })
    .catch((error: unknown) => {
      console.error(`migration failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    });
}
