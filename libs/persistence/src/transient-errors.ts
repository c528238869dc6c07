import { QueryFailedError } from 'typeorm';

/**
 * SQLSTATEs that say "try again": the statement was refused for a reason that has
 * nothing to do with its input, and running it again later may well succeed.
 *
 * - `40001` serialization_failure, `40P01` deadlock_detected: concurrency, by design.
 * - `55P03` lock_not_available: `lock_timeout` or `NOWAIT`.
 * - `57014` query_canceled: `statement_timeout` (a deadline, not a verdict on the input).
 * - `57P01` admin_shutdown, `57P02` crash_shutdown, `57P03` cannot_connect_now: the
 *   server is restarting or failing over.
 * - class `08` connection_exception: the connection went away.
 * - `53300` too_many_connections: the server is full right now.
 */
const TRANSIENT_SQLSTATES = new Set([
  '40001',
  '40P01',
  '55P03',
  '57014',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);
const TRANSIENT_SQLSTATE_CLASSES = ['08'];

/** Socket-level failures reported by node-postgres before any SQLSTATE exists. */
const TRANSIENT_SYSTEM_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** node-postgres' own words when a connection ends under a query or never opens. */
const TRANSIENT_MESSAGES = [
  'Connection terminated',
  'connection timeout',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Connection terminated due to connection timeout',
];

function codeOf(error: object): unknown {
  const driverError: unknown = error instanceof QueryFailedError ? error.driverError : undefined;
  if (typeof driverError === 'object' && driverError !== null && 'code' in driverError) {
    return driverError.code;
  }
  return 'code' in error ? error.code : undefined;
}

/**
 * True when a database error is transient: a lost or refused connection, a
 * serialization failure (40001), a deadlock (40P01), a lock or statement timeout, or a
 * server that is restarting. Everything else — a CHECK or unique violation, a typo in
 * SQL, a missing table — is a fault that no retry can fix, and must fail at once.
 *
 * Pass it to a task's `retryOn` (`retryOn: [isTransientDatabaseError]`) instead of
 * `QueryFailedError`, which would retry every database error alike.
 */
export function isTransientDatabaseError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = codeOf(error);
  if (typeof code === 'string') {
    if (TRANSIENT_SQLSTATES.has(code) || TRANSIENT_SYSTEM_CODES.has(code)) return true;
    if (code.length === 5 && TRANSIENT_SQLSTATE_CLASSES.includes(code.slice(0, 2))) return true;
  }
  const message = error instanceof Error ? error.message : '';
  return TRANSIENT_MESSAGES.some((text) => message.includes(text));
}
