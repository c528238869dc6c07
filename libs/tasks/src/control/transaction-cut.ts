import type { Logger } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';

interface PgClient {
  processID?: unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/**
 * Ends the transaction of a run that was stopped (hard time limit, terminate) at the
 * server: its backend is terminated, so PostgreSQL rolls the transaction back even while
 * a statement of it is still running, and nothing the abandoned handler sends later can
 * commit, because its connection is gone (the pool drops it). A ROLLBACK would instead
 * queue behind the running statement, and the handler's next statement could slip in
 * after it and commit on its own.
 */
export function cutTransaction(
  dataSource: DataSource,
  manager: EntityManager,
  logger: Logger,
): void {
  const runner = manager.queryRunner as unknown as { databaseConnection?: PgClient } | undefined;
  const client = runner?.databaseConnection;
  const pid = client?.processID;
  if (!client || typeof pid !== 'number') return;
  // The server's goodbye arrives while no query waits for it: without a listener the
  // client would raise it as an uncaught error.
  client.on('error', () => undefined);
  dataSource.query('SELECT pg_terminate_backend($1)', [pid]).then(
    () => undefined,
    (error: unknown) =>
      logger.warn(`ending the stopped task's transaction failed: ${String(error)}`),
  );
}
