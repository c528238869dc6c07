import type { TaskOutcome } from '@clearline/tasks';

/**
 * Every way processing a refund fails. Some failures are the refund's answer (it ends
 * `failed` with a reason), some are passing (try again), some are faults (an operator
 * must look). A database error needs no code: a transient one is retried by the task's
 * `retryOn` (`isTransientDatabaseError`), any other dead-letters the task at once.
 */
export enum RefundErrorCode {
  /**
   * Another delivery of the same refund inserted its job after this one looked: the
   * rerun finds it.
   */
  JobOpenedConcurrently = 'job_opened_concurrently',
  /** Neither the merchant's pending nor its available balance covers the amount. */
  InsufficientFunds = 'insufficient_funds',
  /** The processor answered and refused the refund (its reason is the failure reason). */
  ProcessorRefused = 'processor_refused',
  /** The processor could not be reached or did not answer: its outcome is unknown. */
  ProcessorUnavailable = 'processor_unavailable',
  /**
   * The ledger did not answer in time: a step may still apply, so nothing may be
   * concluded from it.
   */
  LedgerUnavailable = 'ledger_unavailable',
  /**
   * The ledger's task for a step failed (rolled back, nothing applied; the failure is
   * stored under the step's task id): a fault for an operator.
   */
  LedgerTaskFailed = 'ledger_task_failed',
  /**
   * The ledger has no such merchant or platform account. A captured payment's merchant
   * has its accounts, so this is a fault (a corrupted job, or a ledger that lost them).
   */
  AccountsNotOpen = 'accounts_not_open',
  /** The ledger does not keep the refund's currency: a fault, as the payment was booked in it. */
  CurrencyNotSupported = 'currency_not_supported',
  /**
   * The ledger refused a transfer the refund built for another reason (a post or void of
   * its own hold, a transfer id taken with other fields): a bug or a corrupted job.
   */
  LedgerRefused = 'ledger_refused',
}

/**
 * The one place that decides what each code does to a refund task. Exhaustive (the
 * linter's switch-exhaustiveness-check and the `never` below): a new code cannot be
 * added without choosing its outcome.
 */
export function refundTaskOutcome(code: RefundErrorCode): TaskOutcome {
  switch (code) {
    case RefundErrorCode.JobOpenedConcurrently:
    case RefundErrorCode.ProcessorUnavailable:
    case RefundErrorCode.LedgerUnavailable:
      return 'retry';
    case RefundErrorCode.InsufficientFunds:
    case RefundErrorCode.ProcessorRefused:
      return 'fail';
    case RefundErrorCode.AccountsNotOpen:
    case RefundErrorCode.CurrencyNotSupported:
    case RefundErrorCode.LedgerRefused:
    case RefundErrorCode.LedgerTaskFailed:
      return 'dead-letter';
    default: {
      const unknown: never = code;
      throw new Error(`no task outcome for refund error code ${String(unknown)}`);
    }
  }
}

/** A domain error of refund processing: `new RefundError('…', RefundErrorCode.X)`. */
export class RefundError extends Error {
  override readonly name = 'RefundError';

  constructor(
    message: string,
    readonly code: RefundErrorCode,
    /**
     * The refund's `failure_reason` when this error ends it: always for a `fail` code;
     * for a `retry` code, the reason it ends with once no retry follows (a processor
     * unavailable through every retry). Null when the error can never end a refund: its
     * outcome is unknown (the ledger did not answer) or it is a fault.
     */
    readonly failureReason: string | null = null,
  ) {
    // The code leads the message: it is what a task's FAILURE and dead letter record.
    super(`${code}: ${message}`);
  }
}

/**
 * A refund error whose code's outcome is `retry`. With `isTransientDatabaseError`, it is
 * the refund task's `retryOn`.
 */
export function isTransientRefundError(error: unknown): boolean {
  return error instanceof RefundError && refundTaskOutcome(error.code) === 'retry';
}

/**
 * Whether `error` ends the refund here (failed, with `error.failureReason`) rather than
 * being thrown: a `fail` code always does; a `retry` code does when no retry follows
 * (`willRetry` false) and it names a reason; a fault never does.
 */
export function endsRefund(error: RefundError, willRetry: boolean): boolean {
  switch (refundTaskOutcome(error.code)) {
    case 'fail':
      return true;
    case 'retry':
      return !willRetry && error.failureReason !== null;
    case 'dead-letter':
      return false;
  }
}
