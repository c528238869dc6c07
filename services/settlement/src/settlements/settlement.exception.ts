/** What can go wrong while settling or paying out. */
export enum SettlementErrorCode {
  /** The ledger did not answer in time: the postings may still apply. */
  LedgerUnavailable = 'ledger_unavailable',
  /** The ledger refused the postings (nothing moved): e.g. pending cannot cover them yet. */
  LedgerRefused = 'ledger_refused',
  /** The ledger's task failed (a fault, in its dead letters). */
  LedgerTaskFailed = 'ledger_task_failed',
  /** The payout rail did not answer: the payout may or may not have been sent. */
  RailUnavailable = 'rail_unavailable',
  /** The task names a run, merchant or payout that does not exist. */
  NotFound = 'not_found',
}

export type SettlementTaskOutcome = 'retry' | 'fail' | 'dead-letter';

/** One switch decides what each code does to its task. */
export function settlementTaskOutcome(code: SettlementErrorCode): SettlementTaskOutcome {
  switch (code) {
    case SettlementErrorCode.LedgerUnavailable:
    case SettlementErrorCode.RailUnavailable:
      return 'retry';
    case SettlementErrorCode.LedgerRefused:
    case SettlementErrorCode.LedgerTaskFailed:
      return 'fail';
    case SettlementErrorCode.NotFound:
      return 'dead-letter';
  }
}

export class SettlementError extends Error {
  override readonly name = 'SettlementError';
  constructor(
    message: string,
    readonly code: SettlementErrorCode,
  ) {
    super(message);
  }
}

/** For a task's `retryOn`: only what may succeed when asked again. */
export function isTransientSettlementError(error: unknown): boolean {
  return error instanceof SettlementError && settlementTaskOutcome(error.code) === 'retry';
}
