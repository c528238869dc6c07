import type { Account, PendingStatus, Transfer } from '@clearline/ledger-core';

/** `ledger_accounts` as PostgreSQL returns it (bigint columns come back as strings). */
export interface AccountRow {
  id: string;
  currency: string;
  code: number;
  owner: string;
  debits_must_not_exceed_credits: boolean;
  credits_must_not_exceed_debits: boolean;
  debits_pending: string;
  debits_posted: string;
  credits_pending: string;
  credits_posted: string;
}

/** `ledger_transfers` joined with the transfer's pending state, if it is a pending one. */
export interface TransferRow {
  id: string;
  debit_account_id: string;
  credit_account_id: string;
  amount: string;
  currency: string;
  code: number;
  pending: boolean;
  post_pending: boolean;
  void_pending: boolean;
  linked: boolean;
  pending_id: string | null;
  timeout_s: number;
  created_at: Date;
  pending_status: PendingStatus | null;
}

export function accountFromRow(row: AccountRow): Account {
  return {
    id: row.id,
    currency: row.currency,
    code: row.code,
    owner: row.owner,
    flags: {
      debitsMustNotExceedCredits: row.debits_must_not_exceed_credits,
      creditsMustNotExceedDebits: row.credits_must_not_exceed_debits,
    },
    debitsPending: BigInt(row.debits_pending),
    debitsPosted: BigInt(row.debits_posted),
    creditsPending: BigInt(row.credits_pending),
    creditsPosted: BigInt(row.credits_posted),
  };
}

export function transferFromRow(row: TransferRow): Transfer {
  return {
    id: row.id,
    debitAccountId: row.debit_account_id,
    creditAccountId: row.credit_account_id,
    amount: BigInt(row.amount),
    currency: row.currency,
    code: row.code,
    flags: {
      pending: row.pending,
      postPending: row.post_pending,
      voidPending: row.void_pending,
      linked: row.linked,
    },
    pendingId: row.pending_id,
    timeoutS: row.timeout_s,
    timestampS: Math.floor(row.created_at.getTime() / 1000),
  };
}
