/** Removes whatever this run created that a test file did not clean up itself. */
import { deleteVhost, dropDatabase, management, runId, withAdminDatabase } from './infrastructure';
import { deleteRedisKeys } from './redis';

export default async function globalTeardown(): Promise<void> {
  const run = runId();
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
}
