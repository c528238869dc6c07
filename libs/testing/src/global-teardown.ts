/**
 * Removes whatever this run created that a test file did not clean up itself, and fails
 * the run when a service process it started logged something that looks like a card
 * number (every process's output is in the run's log directory: `log-scan.ts`). Jest
 * exits non-zero when its global teardown throws; the infrastructure is cleaned first.
 */
import { deleteVhost, dropDatabase, management, runId, withAdminDatabase } from './infrastructure';
import { describeFindings, removeRunLogs, runLogFiles, scanLogFiles } from './log-scan';
import { deleteRedisKeys } from './redis';

export default async function globalTeardown(): Promise<void> {
  const run = runId();
  const findings = await scanLogFiles(await runLogFiles(run));
  await removeRunLogs(run);
  await withAdminDatabase(async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $1`,
      [`${run}%`],
    );
    for (const row of rows) await dropDatabase(client, row.datname);
  });
  const vhosts = (await (await management('GET', '/vhosts')).json()) as { name: string }[];
  await Promise.all(vhosts.filter((v) => v.name.startsWith(run)).map((v) => deleteVhost(v.name)));
  // Every test file's REDIS_KEY_PREFIX starts with the run's id.
  await deleteRedisKeys(`${run}_`);
  if (findings.length > 0)
    throw new Error(`Card numbers in the services' logs. ${describeFindings(findings)}`);
}
