import { randomBytes } from 'node:crypto';
import {
  amqpUrl,
  createVhost,
  databaseUrl,
  deleteVhost,
  dropDatabase,
  runId,
  TEST_INFRA,
  templateDatabase,
  withAdminDatabase,
} from './infrastructure';
import { prepareVhostForServices } from './broker-users';
import { deleteRedisKeys } from './redis';

/** A vhost, a migrated database and a Redis key prefix that belong to one test file only. */
export interface IsolatedInfrastructure {
  name: string;
  amqpUrl: string;
  databaseUrl: string;
  redisUrl: string;
  /** Before every Redis key a service of this test file writes (`REDIS_KEY_PREFIX`). */
  redisKeyPrefix: string;
  /** Environment for a service or worker process pointed at this isolation. */
  env: Record<string, string>;
  /** Deletes the vhost, the database and the Redis keys (each even if another fails). */
  destroy(): Promise<void>;
}

export async function isolatedInfrastructure(): Promise<IsolatedInfrastructure> {
  const run = runId();
  const name = `${run}_${randomBytes(4).toString('hex')}`;
  await createVhost(name);
  await prepareVhostForServices(name, amqpUrl(name));
  await withAdminDatabase((client) =>
    client.query(`CREATE DATABASE "${name}" TEMPLATE "${templateDatabase(run)}"`),
  );
  const isolation = {
    name,
    amqpUrl: amqpUrl(name),
    databaseUrl: databaseUrl(name),
    redisUrl: TEST_INFRA.redisUrl,
    redisKeyPrefix: `${name}:`,
  };
  return {
    ...isolation,
    env: {
      AMQP_URL: isolation.amqpUrl,
      DATABASE_URL: isolation.databaseUrl,
      REDIS_URL: isolation.redisUrl,
      REDIS_KEY_PREFIX: isolation.redisKeyPrefix,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
    },
    destroy: async () => {
      const outcomes = await Promise.allSettled([
        deleteVhost(name),
        withAdminDatabase((client) => dropDatabase(client, name)),
        deleteRedisKeys(isolation.redisKeyPrefix),
      ]);
      const failed = outcomes.find((outcome) => outcome.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}
