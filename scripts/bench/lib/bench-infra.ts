import { randomBytes } from 'node:crypto';
import { runMigrations } from '../../migrate';
import {
  amqpUrl,
  createVhost,
  databaseUrl,
  deleteVhost,
  dropDatabase,
  ensureServiceUsers,
  prepareVhostForServices,
  withAdminDatabase,
} from '@clearline/testing';

/** A vhost and migrated database of the benchmark's own, removed afterwards. */
export interface BenchInfra {
  amqpUrl: string;
  databaseUrl: string;
  env: Record<string, string>;
  destroy(): Promise<void>;
}

export async function benchInfra(name: string): Promise<BenchInfra> {
  const id = `clearline_bench_${name}_${randomBytes(3).toString('hex')}`;
  await createVhost(id);
  // Services run as their own broker users, as in production (libs/testing broker-users).
  await ensureServiceUsers();
  await prepareVhostForServices(id, amqpUrl(id));
  await withAdminDatabase((client) => client.query(`CREATE DATABASE "${id}"`));
  await runMigrations(databaseUrl(id));
  return {
    amqpUrl: amqpUrl(id),
    databaseUrl: databaseUrl(id),
    env: {
      AMQP_URL: amqpUrl(id),
      DATABASE_URL: databaseUrl(id),
      NODE_ENV: 'production',
      // Production settings, on the sandbox processor and payout rail (it says so).
      PAYMENT_PROCESSOR: 'sandbox',
      PAYOUT_RAIL: 'sandbox',
      ALLOW_SANDBOX_IN_PRODUCTION: '1',
      LOG_LEVEL: 'warn',
    },
    destroy: async () => {
      await deleteVhost(id);
      await withAdminDatabase((client) => dropDatabase(client, id));
    },
  };
}
