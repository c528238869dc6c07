import type { TaskOutcome } from '@clearline/tasks';

/**
 * Every way a ledger use case fails by throwing. A transfer or an account the rules
 * refuse is not one of them: it gets its named result (TigerBeetle's, `exceeds_credits`,
 * `currency_not_supported`, `debit_account_not_found`, …) and its task succeeds, so a
 * bad transfer fails alone and never dead-letters the task that carried it.
 *
 * Faults need no code: an assertion of ledger-core (`LedgerAssertionError`, a rule only a
 * bug or a corrupted row can break) or a database error that is not transient (a CHECK
 * or unique violation, a missing table) is in no task's `retryOn`, so it dead-letters
 * the task at once.
 */
export enum LedgerErrorCode {
  /**
   * Another transaction inserted some of the same accounts first (a new id has no row
   * to lock): a rerun reads them and answers `exists`, or names the field that differs.
   */
  AccountsCreatedConcurrently = 'accounts_created_concurrently',
  /**
   * Another transaction (a replica's batch) inserted a transfer of the same id after
   * this batch read the transfers and before it wrote them: a rerun reads it and answers
   * `exists`, or names the field that differs.
   */
  TransfersCreatedConcurrently = 'transfers_created_concurrently',
}

/**
 * The one place that decides what each code does to a task. Exhaustive (the linter's
 * switch-exhaustiveness-check and the `never` below): a new code cannot be added
 * without choosing its outcome.
 */
export function ledgerTaskOutcome(code: LedgerErrorCode): TaskOutcome {
  switch (code) {
    // Lost races: the winner's rows are committed, so the rerun decides.
    case LedgerErrorCode.AccountsCreatedConcurrently:
    case LedgerErrorCode.TransfersCreatedConcurrently:
      return 'retry';
    default: {
      const unknown: never = code;
      throw new Error(`no task outcome for ledger error code ${String(unknown)}`);
    }
  }
}

/** A domain error of the ledger: `new LedgerError('…', LedgerErrorCode.X)`. */
export class LedgerError extends Error {
  override readonly name = 'LedgerError';

  constructor(
    message: string,
    readonly code: LedgerErrorCode,
  ) {
    // The code leads the message: it is what a task's FAILURE and dead letter record.
    super(`${code}: ${message}`);
  }
}

/**
 * A ledger error whose code's outcome is `retry`. With `isTransientDatabaseError`, it is
 * every ledger write task's `retryOn`, and what the start-up bootstrap retries.
 */
export function isTransientLedgerError(error: unknown): boolean {
  return error instanceof LedgerError && ledgerTaskOutcome(error.code) === 'retry';
}
