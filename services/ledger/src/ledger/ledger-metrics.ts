import type { LedgerCheckResult } from '@clearline/contracts';
import type { TransferResult } from '@clearline/ledger-core';
import { Counter, Gauge } from 'prom-client';

/** How a ledger check ended: every invariant held, one did not, or it did not finish. */
export type LedgerCheckOutcome = 'balanced' | 'unbalanced' | 'error';
const CHECK_OUTCOMES: readonly LedgerCheckOutcome[] = ['balanced', 'unbalanced', 'error'];

/**
 * The ledger's own metrics. Labels are result codes and outcomes only (never an account
 * or a merchant), so the series stay bounded: at most one per TigerBeetle result code.
 */
export const ledgerMetrics = {
  transfers: new Counter({
    name: 'clearline_ledger_transfers_total',
    help: 'Transfers judged by the ledger, by result code: ok (applied), exists (applied before), any other code a rejection. A batch that rolls back and runs again counts again.',
    labelNames: ['result'],
  }),
  checks: new Counter({
    name: 'clearline_ledger_checks_total',
    help: 'Ledger checks run by this process (the hourly schedule or GET /v1/admin/ledger/check), by outcome: balanced, unbalanced (an invariant is broken) or error (the check did not finish)',
    labelNames: ['outcome'],
  }),
  checkViolations: new Gauge({
    name: 'clearline_ledger_check_violations',
    help: 'Invariant violations the last completed ledger check of this process found',
  }),
  checkLastTimestamp: new Gauge({
    name: 'clearline_ledger_check_last_completed_timestamp_seconds',
    help: 'When the last ledger check of this process completed (Unix seconds; 0 before the first)',
  }),
};

// Every outcome exists from the start, so `increase()` sees the first unbalanced check.
for (const outcome of CHECK_OUTCOMES) ledgerMetrics.checks.inc({ outcome }, 0);
ledgerMetrics.transfers.inc({ result: 'ok' }, 0);

/** Counts the results of judged transfers, one increment per distinct code. */
export function countTransferResults(results: readonly (readonly TransferResult[])[]): void {
  const counts = new Map<TransferResult, number>();
  for (const batch of results) {
    for (const result of batch) counts.set(result, (counts.get(result) ?? 0) + 1);
  }
  for (const [result, count] of counts) ledgerMetrics.transfers.inc({ result }, count);
}

/** Records how a ledger check ended: a result, or the error that stopped it. */
export function recordLedgerCheck(result: LedgerCheckResult | Error): void {
  if (result instanceof Error) {
    ledgerMetrics.checks.inc({ outcome: 'error' });
    return;
  }
  ledgerMetrics.checks.inc({ outcome: result.balanced ? 'balanced' : 'unbalanced' });
  ledgerMetrics.checkViolations.set(result.violations.length);
  ledgerMetrics.checkLastTimestamp.set(Date.now() / 1_000);
}
