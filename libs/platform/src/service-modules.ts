import type { DynamicModule } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { WORK_QUEUES } from '@clearline/contracts';
import { dataSourceOptions, type MigrationSet } from '@clearline/persistence';
import { TasksModule, type TasksModuleOptions } from '@clearline/tasks';
import { parseTaskLanes, validateEnvironment, type CommonEnvironment } from './environment';
import { MigrationCheckModule } from './migration-check.module';
import { ObservabilityModule } from './observability.module';

export interface ServiceModulesOptions<E extends CommonEnvironment> {
  service: string;
  environment: new () => E;
  /**
   * The migration sets the service owns; the task layer's are always added. Checked
   * against the database at start: the service refuses to start when they differ.
   */
  migrations?: readonly MigrationSet[];
  /** Overrides for the task layer (tests inject fault hooks here). */
  tasks?: Partial<TasksModuleOptions>;
  /** Variables that take precedence over process.env (tests run several apps in one process). */
  env?: Record<string, string>;
}

/**
 * What every Clearline service is made of: validated configuration, logs, metrics
 * and health, the database, and the task layer.
 */
export function serviceModules<E extends CommonEnvironment>(
  options: ServiceModulesOptions<E>,
): (DynamicModule | Promise<DynamicModule>)[] {
  return [
    ConfigModule.forRoot({
      isGlobal: true,
      cache: true,
      ignoreEnvFile: true,
      validate: (raw) => validateEnvironment(options.environment, { ...raw, ...options.env }),
    }),
    ObservabilityModule.forService(options.service),
    TypeOrmModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<CommonEnvironment, true>) =>
        dataSourceOptions({
          url: config.get('DATABASE_URL', { infer: true }),
          applicationName: `clearline-${options.service}`,
          poolSize: config.get('DATABASE_POOL_SIZE', { infer: true }),
          statementTimeoutMs: config.get('DATABASE_STATEMENT_TIMEOUT_MS', { infer: true }),
          lockTimeoutMs: config.get('DATABASE_LOCK_TIMEOUT_MS', { infer: true }),
          idleInTransactionTimeoutMs: config.get('DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS', {
            infer: true,
          }),
          poolTimeoutMs: config.get('DATABASE_POOL_TIMEOUT_MS', { infer: true }),
        }),
    }),
    MigrationCheckModule.forService(options.service, options.migrations ?? []),
    TasksModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<CommonEnvironment, true>): TasksModuleOptions => ({
        amqpUrl: config.get('AMQP_URL', { infer: true }),
        databaseUrl: config.get('DATABASE_URL', { infer: true }),
        serviceName: options.service,
        workQueues: WORK_QUEUES,
        ...taskLaneOptions(config),
        confirmTimeoutMs: config.get('TASK_CONFIRM_TIMEOUT_MS', { infer: true }),
        publishBacklogCountMax: config.get('TASK_PUBLISH_BACKLOG_MAX', { infer: true }),
        events: config.get('TASK_EVENTS', { infer: true }) === '1',
        drainTimeoutMs: config.get('TASK_DRAIN_TIMEOUT_MS', { infer: true }),
        outboxRelay: true,
        ...options.tasks,
      }),
    }),
  ];
}

/**
 * Each lane's prefetch and concurrency, and the lanes this process consumes. The
 * realtime lane's are `prefetch`/`concurrency` (TASK_PREFETCH_REALTIME, else
 * TASK_PREFETCH, as before lanes), so a test's `tasks: { prefetch }` still sets them.
 */
function taskLaneOptions(
  config: ConfigService<CommonEnvironment, true>,
): Pick<TasksModuleOptions, 'prefetch' | 'concurrency' | 'lanes' | 'consumeLanes'> {
  const get = <K extends keyof CommonEnvironment>(key: K): CommonEnvironment[K] =>
    config.get(key, { infer: true });
  const lanes = get('TASK_LANES');
  const consumeLanes = lanes === undefined ? null : parseTaskLanes(lanes);
  return {
    prefetch: get('TASK_PREFETCH_REALTIME') ?? get('TASK_PREFETCH'),
    concurrency: get('TASK_CONCURRENCY_REALTIME') ?? get('TASK_CONCURRENCY'),
    lanes: {
      webhooks: {
        prefetch: get('TASK_PREFETCH_WEBHOOKS'),
        concurrency: get('TASK_CONCURRENCY_WEBHOOKS'),
      },
      batch: { prefetch: get('TASK_PREFETCH_BATCH'), concurrency: get('TASK_CONCURRENCY_BATCH') },
    },
    ...(consumeLanes ? { consumeLanes } : {}),
  };
}
