/**
 * The real gateway for one e2e test file: its own vhost, database and Redis key prefix
 * (isolatedInfrastructure), the production app (createGatewayApp) in this process,
 * listening on a free port, and libs/testing's API client to call it over HTTP.
 */
import type { AddressInfo } from 'node:net';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DataSource } from 'typeorm';
import type { TasksModuleOptions } from '@clearline/tasks';
import {
  apiClient,
  envAs,
  isolatedInfrastructure,
  testAdminKey,
  type ApiClient,
  type IsolatedInfrastructure,
} from '@clearline/testing';
import { createGatewayApp } from '../src/gateway.app';

export {
  anyNumber,
  anyString,
  matching,
  type CallOptions,
  type CreatedMerchant,
  type ErrorReply,
  type Reply,
} from '@clearline/testing';

export interface GatewayHarness extends ApiClient {
  infra: IsolatedInfrastructure;
  app: NestExpressApplication;
  /**
   * The test's own connection to the database, as the operator: the gateway itself works
   * as its role and may not read the ledger's or write another service's tables.
   */
  db: DataSource;
  close(): Promise<void>;
}

export interface GatewayPlacement {
  /** Another gateway whose database, vhost, Redis prefix and admin key this one shares (a second replica). */
  replicaOf?: GatewayHarness;
  /** The isolation to run on, owned by the caller; a new one (destroyed on close) if absent. */
  infra?: IsolatedInfrastructure;
  /** Task-layer overrides (e.g. no outbox relay). */
  tasks?: Partial<TasksModuleOptions>;
}

export async function startGateway(
  env: Record<string, string> = {},
  { replicaOf, infra: given, tasks }: GatewayPlacement = {},
): Promise<GatewayHarness> {
  const owned = replicaOf === undefined && given === undefined;
  const infra = replicaOf?.infra ?? given ?? (await isolatedInfrastructure());
  const adminKey = replicaOf?.adminKey ?? testAdminKey();
  const app = await createGatewayApp({
    // As in production, the gateway connects as its own broker user and database role.
    env: envAs({ ...infra.env, ADMIN_API_KEY: adminKey, ...env }, 'gateway'),
    ...(tasks ? { tasks } : {}),
  });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const db = await new DataSource({
    type: 'postgres',
    url: infra.databaseUrl,
    extra: { max: 4, application_name: 'clearline-test' },
  }).initialize();
  return {
    ...apiClient(`http://127.0.0.1:${port}`, adminKey),
    infra,
    app,
    db,
    close: async () => {
      await db.destroy();
      await app.close();
      if (owned) await infra.destroy();
    },
  };
}
