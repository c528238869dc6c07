import type { PayoutStatus, SettlementRunStatus } from '@clearline/contracts';

/** A settlement run: every merchant's captures and refunds up to its cut-off. */
export interface SettlementRun {
  id: string;
  /** Inclusive: items the ledger posted at or before it. */
  cutOff: Date;
  status: SettlementRunStatus;
  /** The merchants with activity the run settles. */
  merchants: number;
  createdAt: Date;
  /** When the run ended (completed or partially failed); null while it runs. */
  completedAt: Date | null;
}

/** What one run settled for one merchant in one currency (money in minor units). */
export interface Settlement {
  id: string;
  merchantId: string;
  runId: string;
  /** ISO 4217, lower case. */
  currency: string;
  /** Payments and refunds settled. */
  count: number;
  gross: bigint;
  refunds: bigint;
  fees: bigint;
  /** gross − refunds − fees; negative when refunds exceed what was captured. */
  net: bigint;
  /** Fees the merchant still owed from earlier settlements. */
  feesCarriedIn: bigint;
  /** Fees left unpaid, carried to the next settlement. */
  feesCarriedOut: bigint;
  payoutId: string | null;
  createdAt: Date;
}

/** Money paid to a merchant out of its available balance after a settlement. */
export interface Payout {
  id: string;
  merchantId: string;
  currency: string;
  amount: bigint;
  status: PayoutStatus;
  settlementId: string;
  /** Why the payout rail refused it; null unless failed. */
  failureCode: string | null;
  createdAt: Date;
}
