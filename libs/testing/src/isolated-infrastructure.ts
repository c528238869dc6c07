import { randomBytes } from 'node:crypto';
import {
  amqpUrl,
  createVhost,
  databaseUrl,
  deleteVhost,
  dropDatabase,
  runId,
  templateDatabase,
  withAdminDatabase,
} from './infrastructure';

/** A vhost and a migrated database that belong to one test file only. */
export interface IsolatedInfrastructure {
  name: string;
  amqpUrl: string;
  databaseUrl: string;
  /** Environment for a service or worker process pointed at this isolation. */
  env: Record<string, string>;
  destroy(): Promise<void>;
}

export async function isolatedInfrastructure(): Promise<IsolatedInfrastructure> {
  const run = runId();
  const name = `${run}_${randomBytes(4).toString('hex')}`;
  await createVhost(name);
  await withAdminDatabase((client) =>
    client.query(`CREATE DATABASE "${name}" TEMPLATE "${templateDatabase(run)}"`),
  );
  const isolation = {
    name,
    amqpUrl: amqpUrl(name),
    databaseUrl: databaseUrl(name),
  };
  return {
    ...isolation,
    env: {
      AMQP_URL: isolation.amqpUrl,
      DATABASE_URL: isolation.databaseUrl,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
    },
    destroy: async () => {
      await deleteVhost(name);
      await withAdminDatabase((client) => dropDatabase(client, name));
    },
  };
}
