/**
 * Runs once per `jest` run: names the run, and builds a template database with every
 * migration applied (by the same command users run), which each test file copies
 * into a database of its own.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { ensureServiceUsers } from './service-users';
import {
  databaseUrl,
  dropDatabase,
  RUN_ID_ENV,
  templateDatabase,
  withAdminDatabase,
} from './infrastructure';

const ROOT = resolve(__dirname, '../../..');

export default async function globalSetup(): Promise<void> {
  const run = `clearline_test_${Date.now().toString(36)}_${process.pid}`;
  process.env[RUN_ID_ENV] = run;
  const template = templateDatabase(run);
  await withAdminDatabase(async (client) => {
    await dropDatabase(client, template);
    await client.query(`CREATE DATABASE "${template}"`);
  });
  await ensureServiceUsers();
  execFileSync(process.execPath, ['-r', '@swc-node/register', 'scripts/migrate.ts'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl(template) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
