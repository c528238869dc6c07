/**
 * `npm run migration:run`: checks every applied migration against the code (a changed
 * or missing one stops it before anything runs), then applies the pending migrations
 * to DATABASE_URL, each with its checksum (`npm run migration:run -- --revert` undoes
 * the last one).
 */
import 'reflect-metadata';
import { runMigrationsGuarded } from '@clearline/persistence';
import { MIGRATION_SETS } from './migrations';

const DEFAULT_URL = 'postgres://clearline:clearline@127.0.0.1:5432/clearline';

export function runMigrations(url: string, revert = false): Promise<string[]> {
  return runMigrationsGuarded({
    url,
    applicationName: 'clearline-migrate',
    sets: MIGRATION_SETS,
    revert,
  });
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
