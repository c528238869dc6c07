import { assert } from './assert';

/** What a merchant's settlement in one currency moves in the ledger. */
export interface SettlementPostingsInput {
  /** Captured payments settled now, minor units. */
  gross: bigint;
  /** Of the refunds settled now, those held on the merchant's pending account. */
  refundsFromPending: bigint;
  /** The fees of the payments settled now. */
  fees: bigint;
  /** Fees an earlier settlement of this currency could not collect, ≥ 0. */
  feesOwedIn: bigint;
}

export interface SettlementPostings {
  /** pending → the platform's fee account. */
  feesCollected: bigint;
  /** pending → the merchant's available account (then paid out). */
  toAvailable: bigint;
  /** Fees still owed, collected first by the next settlement of this currency. */
  feesOwedOut: bigint;
}

/**
 * How a settlement moves money, given that refunds already left the merchant's balance
 * when they were made (the ledger held them on `pending`, or on `available` when pending
 * could not cover them, and never lets either go negative).
 *
 * What the settled items left on `pending` is `gross − refundsFromPending` (≥ 0: every
 * refund held on pending was covered by captures that are settled with it or earlier).
 * From it the fees owed are taken first (this settlement's and any carried in), the rest
 * goes to `available`. When it cannot cover the fees, it is all taken as fees and the
 * shortfall is carried in the same currency (`feesOwedOut`), never converted, never
 * written off. A negative `net` is thus money the merchant had already given back by its
 * refunds, plus fees still owed: nothing is paid, and only the fees are a debt.
 *
 * Always: `feesCollected + toAvailable = gross − refundsFromPending` and
 * `feesCollected + feesOwedOut = fees + feesOwedIn`, every figure ≥ 0.
 */
export function settlementPostings(input: SettlementPostingsInput): SettlementPostings {
  assert(input.gross >= 0n, 'gross is not negative');
  assert(input.refundsFromPending >= 0n, 'refunds are not negative');
  assert(input.fees >= 0n, 'fees are not negative');
  assert(input.feesOwedIn >= 0n, 'a carried fee debt is not negative');
  const leftOnPending = input.gross - input.refundsFromPending;
  assert(leftOnPending >= 0n, 'refunds held on pending never exceed what was captured there');
  const owed = input.fees + input.feesOwedIn;
  const feesCollected = owed < leftOnPending ? owed : leftOnPending;
  return {
    feesCollected,
    toAvailable: leftOnPending - feesCollected,
    feesOwedOut: owed - feesCollected,
  };
}
