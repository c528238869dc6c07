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

export interface Account {
  id: string;
  currency: string;
  code: number;
  owner: string;
  flags: AccountFlags;
  debitsPending: bigint;
  debitsPosted: bigint;
  creditsPending: bigint;
  creditsPosted: bigint;
}

export interface TransferFlags {
  /** Reserve the amount (two-phase): resolved later by a post or a void. */
  pending: boolean;
  postPending: boolean;
  voidPending: boolean;
  /** Succeeds or fails together with the next transfer of the batch. */
  linked: boolean;
}

/** A transfer as asked for; post/void may leave accounts and amount to the pending one. */
export interface TransferInput {
  id: string;
  debitAccountId?: string;
  creditAccountId?: string;
  amount?: bigint;
  code: number;
  flags?: Partial<TransferFlags>;
  pendingId?: string;
  /** Seconds a pending transfer may wait to be posted; 0 = no timeout. */
  timeoutS?: number;
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

/** TigerBeetle-style outcomes, one per transfer of a batch. */
export const TRANSFER_RESULTS = [
  'ok',
  'exists',
  'linked_event_failed',
  'linked_event_chain_open',
  'id_must_not_be_empty',
  'flags_are_mutually_exclusive',
  'amount_must_be_positive',
  'amount_exceeds_maximum',
  'accounts_must_be_different',
  'debit_account_id_required',
  'credit_account_id_required',
  'debit_account_not_found',
  'credit_account_not_found',
  'accounts_must_have_the_same_currency',
  'pending_id_required',
  'pending_id_must_be_empty',
  'pending_id_must_be_different',
  'timeout_reserved_for_pending_transfer',
  'pending_transfer_not_found',
  'pending_transfer_not_pending',
  'pending_transfer_has_different_debit_account_id',
  'pending_transfer_has_different_credit_account_id',
  'pending_transfer_has_different_amount',
  'exceeds_pending_transfer_amount',
  'pending_transfer_already_posted',
  'pending_transfer_already_voided',
  'pending_transfer_expired',
  'exists_with_different_flags',
  'exists_with_different_debit_account_id',
  'exists_with_different_credit_account_id',
  'exists_with_different_amount',
  'exists_with_different_pending_id',
  'exists_with_different_code',
  'exists_with_different_timeout',
  'overflows_balance',
  'exceeds_credits',
  'exceeds_debits',
] as const;
export type TransferResult = (typeof TRANSFER_RESULTS)[number];

export function noFlags(): TransferFlags {
  return { pending: false, postPending: false, voidPending: false, linked: false };
}
