import {
  Module,
  type DynamicModule,
  type INestApplication,
  type Provider,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { CommonEnvironment, serviceModules } from '@clearline/platform';
import {
  DeadLetterAdmin,
  ResultStore,
  TaskClient,
  TaskServer,
  type TasksModuleOptions,
} from '@clearline/tasks';
import { DataSource } from 'typeorm';
import { envAs } from './broker-users';
import type { IsolatedInfrastructure } from './isolated-infrastructure';

export interface TaskAppOptions {
  /** Where to run: only its `env` is read (a benchmark passes its own). */
  infra: Pick<IsolatedInfrastructure, 'env'> & Partial<IsolatedInfrastructure>;
  service?: string;
  /** Feature modules of the service under test (for example the ledger's). */
  imports?: (Type | DynamicModule)[];
  controllers?: Type[];
  providers?: Provider[];
  tasks?: Partial<TasksModuleOptions>;
  env?: Record<string, string>;
}

export interface TaskApp {
  app: INestApplication;
  client: TaskClient;
  server: TaskServer;
  store: ResultStore;
  deadLetters: DeadLetterAdmin;
  /** The service's own connection: it works as the service's database role. */
  dataSource: DataSource;
  /** The test's connection, as the operator (to read or tamper with any table). */
  db: DataSource;
  close(): Promise<void>;
}

/**
 * A real Clearline service in this process, wired to the test file's own vhost and
 * database: the same modules as production, with the given task handlers.
 */
export async function startTaskApp(options: TaskAppOptions): Promise<TaskApp> {
  @Module({
    imports: [
      ...serviceModules({
        service: options.service ?? 'test',
        environment: CommonEnvironment,
        // A service's handlers connect as the service's own broker user, as in production.
        env: envAs({ ...options.infra.env, ...options.env }, options.service ?? 'test'),
        ...(options.tasks ? { tasks: options.tasks } : {}),
      }),
      ...(options.imports ?? []),
    ],
    controllers: options.controllers ?? [],
    providers: options.providers ?? [],
  })
  class TestServiceModule {}

  const app = await NestFactory.create(TestServiceModule, { logger: ['error', 'warn'] });
  const server = app.get(TaskServer);
  const db = await new DataSource({
    type: 'postgres',
    url: options.infra.env['DATABASE_URL'] ?? '',
    extra: { max: 4, application_name: 'clearline-test' },
  }).initialize();
  app.connectMicroservice<MicroserviceOptions>({ strategy: server }, { inheritAppConfig: true });
  await app.startAllMicroservices();
  await app.init();
  return {
    app,
    server,
    client: app.get(TaskClient),
    store: app.get(ResultStore),
    deadLetters: app.get(DeadLetterAdmin),
    dataSource: app.get(DataSource),
    db,
    close: async () => {
      await db.destroy();
      await app.close();
    },
  };
}
