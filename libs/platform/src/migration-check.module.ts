import { Logger, Module, type DynamicModule } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { verifyMigrations, type MigrationCheck, type MigrationSet } from '@clearline/persistence';
import { TASK_MIGRATION_SET } from '@clearline/tasks';
import type { DataSource } from 'typeorm';

/** The result of the start-up check (resolved before the application is created). */
export const MIGRATION_CHECK = Symbol('MIGRATION_CHECK');

/**
 * Refuses to start a service whose database was migrated by migrations that are not,
 * or no longer, those in its code (see `verifyMigrations`). The check is an async
 * provider: Nest resolves every provider before any lifecycle hook and before the task
 * worker is connected, so a refusing service never consumes a task or relays the outbox.
 * One query when all is well.
 */
@Module({})
export class MigrationCheckModule {
  static forService(service: string, sets: readonly MigrationSet[]): DynamicModule {
    return {
      module: MigrationCheckModule,
      providers: [
        {
          provide: MIGRATION_CHECK,
          inject: [getDataSourceToken()],
          useFactory: async (dataSource: DataSource): Promise<MigrationCheck> => {
            const logger = new Logger('Migrations');
            const check = await verifyMigrations(dataSource, [TASK_MIGRATION_SET, ...sets], {
              log: { log: (m) => logger.log(m), warn: (m) => logger.warn(m) },
            });
            if (check.pending.length > 0) {
              logger.warn(
                `${service}: migrations not applied yet (npm run migration:run): ${check.pending.join(', ')}`,
              );
            }
            return check;
          },
        },
      ],
    };
  }
}
