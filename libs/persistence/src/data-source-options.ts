import type { DataSourceOptions } from 'typeorm';
import { PreparingClient } from './prepared-statements';

/** A statement that runs longer is cancelled (SQLSTATE 57014), by default. */
export const STATEMENT_TIMEOUT_MS_DEFAULT = 15_000;
/** A statement that waits longer for a row or table lock gives up (55P03), by default. */
export const LOCK_TIMEOUT_MS_DEFAULT = 5_000;
/**
 * A session idle this long inside an open transaction is ended by the server, by
 * default: a process that hangs mid-transaction must not hold its locks for ever. Longer
 * than a publish's confirm deadline, which the outbox relay waits out inside its
 * transaction.
 */
export const IDLE_IN_TRANSACTION_TIMEOUT_MS_DEFAULT = 60_000;
/** How long a query waits for a pool connection (free one, or a new one to open), by default. */
export const POOL_TIMEOUT_MS_DEFAULT = 5_000;

/**
 * The server-side deadlines of every connection of a pool, in milliseconds; `0` means
 * none (PostgreSQL's own default), for migrations and jobs that must not be cut short.
 */
export interface StatementDeadlines {
  statementTimeoutMs?: number;
  lockTimeoutMs?: number;
  idleInTransactionTimeoutMs?: number;
}

export interface DatabaseOptions extends StatementDeadlines {
  url: string;
  /** Connections in this process's pool. */
  poolSize?: number;
  applicationName: string;
  migrations?: DataSourceOptions['migrations'];
  /** How long a query waits for a connection from the pool; {@link POOL_TIMEOUT_MS_DEFAULT}. */
  poolTimeoutMs?: number;
}

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer of milliseconds`);
  }
  return value;
}

/**
 * The startup `options` of a connection that set its deadlines (`-c statement_timeout=…`):
 * sent with the connection itself, so every connection of the pool has them from its
 * first statement, with no extra round trip. A transaction that needs longer says so with
 * `SET LOCAL statement_timeout`.
 */
export function statementDeadlineOptions(deadlines: StatementDeadlines = {}): string {
  const settings: [string, number][] = [
    [
      'statement_timeout',
      nonNegativeInteger(
        'statementTimeoutMs',
        deadlines.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS_DEFAULT,
      ),
    ],
    [
      'lock_timeout',
      nonNegativeInteger('lockTimeoutMs', deadlines.lockTimeoutMs ?? LOCK_TIMEOUT_MS_DEFAULT),
    ],
    [
      'idle_in_transaction_session_timeout',
      nonNegativeInteger(
        'idleInTransactionTimeoutMs',
        deadlines.idleInTransactionTimeoutMs ?? IDLE_IN_TRANSACTION_TIMEOUT_MS_DEFAULT,
      ),
    ],
  ];
  return settings.map(([name, ms]) => `-c ${name}=${ms}`).join(' ');
}

/**
 * The one way Clearline opens PostgreSQL: schema only through migrations
 * (`synchronize` is off everywhere, tests included), bounded pool, named connections,
 * a deadline on every wait: statements, locks, idle transactions and the pool, and the
 * statements marked with `preparedStatement` prepared once per connection.
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
    extra: {
      max: options.poolSize ?? 20,
      connectionTimeoutMillis: nonNegativeInteger(
        'poolTimeoutMs',
        options.poolTimeoutMs ?? POOL_TIMEOUT_MS_DEFAULT,
      ),
      // Prepared statements (`preparedStatement`) are planned for their parameters every
      // time: a generic plan is kept until the table's statistics change, so one made while
      // a table was small (a seq scan) would outlive the table's growth.
      options: `${statementDeadlineOptions(options)} -c plan_cache_mode=force_custom_plan`,
      // A peer that vanished without a reset (a cut network) is noticed by the kernel.
      keepAlive: true,
      Client: PreparingClient,
    },
  };
}
