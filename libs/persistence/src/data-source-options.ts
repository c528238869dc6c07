import type { DataSourceOptions } from 'typeorm';

export interface DatabaseOptions {
  url: string;
  /** Connections in this process's pool. */
  poolSize?: number;
  applicationName: string;
  migrations?: DataSourceOptions['migrations'];
}

/**
 * The one way Clearline opens PostgreSQL: schema only through migrations
 * (`synchronize` is off everywhere, tests included), bounded pool, named connections.
 */
export function dataSourceOptions(options: DatabaseOptions): DataSourceOptions {
  return {
    type: 'postgres',
    url: options.url,
    synchronize: false,
    migrationsRun: false,
    migrationsTableName: 'migrations',
    migrations: options.migrations ?? [],
    entities: [],
    applicationName: options.applicationName,
    poolSize: options.poolSize ?? 20,
    extra: { max: options.poolSize ?? 20, connectionTimeoutMillis: 10_000 },
  };
}
