import type { TransferResult } from './results';

/** What an account is for; the ledger's chart of accounts. */
export const ACCOUNT_CODES = {
  merchantPending: 100,
  merchantAvailable: 101,
  merchantPayouts: 102,
  processorClearing: 200,
  platformFees: 300,
  platformPayouts: 301,
  customerFunding: 400,
} as const;

export interface AccountFlags {
  /** The account's debits (pending + posted) may never exceed its posted credits. */
  debitsMustNotExceedCredits: boolean;
  /** The account's credits (pending + posted) may never exceed its posted debits. */
  creditsMustNotExceedDebits: boolean;
}

/** The four balances an account keeps, in minor units of its currency. */
export interface AccountBalances {
  debitsPending: bigint;
  debitsPosted: bigint;
  creditsPending: bigint;
  creditsPosted: bigint;
}

export interface Account extends AccountBalances {
  id: string;
  /** Upper-case ISO 4217 code, one of CURRENCY_EXPONENTS. */
  currency: string;
  code: number;
  owner: string;
  flags: AccountFlags;
}

/** An account as asked for; it starts with zero balances. */
export interface AccountInput {
  id: string;
  /** ISO 4217 code in any case; stored upper case. */
  currency: string;
  /** What the account is for (see ACCOUNT_CODES); never 0. */
  code: number;
  owner: string;
  flags?: Partial<AccountFlags>;
}

export interface TransferFlags {
  /** Reserve the amount (two-phase): resolved later by a post or a void. */
  pending: boolean;
  postPending: boolean;
  voidPending: boolean;
  /** Succeeds or fails together with the next transfer of the batch. */
  linked: boolean;
}

/** A transfer as asked for; post/void may leave accounts, amount and currency to the pending one. */
export interface TransferInput {
  id: string;
  debitAccountId?: string;
  creditAccountId?: string;
  amount?: bigint;
  /**
   * ISO 4217 code (compared case-insensitively). When given it must be supported and
   * be the accounts' currency (or the pending transfer's, for a post or void); when
   * absent the accounts decide.
   */
  currency?: string;
  code: number;
  flags?: Partial<TransferFlags>;
  pendingId?: string;
  /** Seconds a pending transfer may wait to be posted; 0 = no timeout. */
  timeoutS?: number;
  /**
   * Set by a wire parser when a raw field could not be parsed (see parseAmount): the
   * transfer fails with this result, after the id check and before anything else. Never
   * a success result.
   */
  invalid?: TransferResult;
}

/** A transfer as recorded: immutable, every field resolved. */
export interface Transfer {
  id: string;
  debitAccountId: string;
  creditAccountId: string;
  amount: bigint;
  currency: string;
  code: number;
  flags: TransferFlags;
  pendingId: string | null;
  timeoutS: number;
  /** Seconds since the epoch when it was applied. */
  timestampS: number;
}

export type PendingStatus = 'pending' | 'posted' | 'voided' | 'expired';

export function noFlags(): TransferFlags {
  return { pending: false, postPending: false, voidPending: false, linked: false };
}

export function noAccountFlags(): AccountFlags {
  return { debitsMustNotExceedCredits: false, creditsMustNotExceedDebits: false };
}
