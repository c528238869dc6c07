import { assert } from './assert';
import { AMOUNT_MAX, normalizeCurrency } from './currency';
import {
  noFlags,
  type Account,
  type AccountBalances,
  type PendingStatus,
  type Transfer,
  type TransferFlags,
  type TransferInput,
} from './model';
import { isSuccess, type TransferResult } from './results';

/** What the rules read: the ledger's state, never changed by them. */
export interface LedgerView {
  readonly accounts: ReadonlyMap<string, Account>;
  readonly transfers: ReadonlyMap<string, Transfer>;
  readonly pendingStatus: ReadonlyMap<string, PendingStatus>;
}

/** A transfer to record with the balance changes it makes per account, or the result. */
export type ValidatedTransfer =
  { result: TransferResult } | { transfer: Transfer; deltas: Map<string, AccountBalances> };

function flagsOf(input: TransferInput): TransferFlags {
  return { ...noFlags(), ...input.flags };
}

function sameFlags(a: TransferFlags, b: TransferFlags): boolean {
  return (
    a.pending === b.pending &&
    a.postPending === b.postPending &&
    a.voidPending === b.voidPending &&
    a.linked === b.linked
  );
}

function addDelta(
  deltas: Map<string, AccountBalances>,
  accountId: string,
  change: Partial<AccountBalances>,
): void {
  const current = deltas.get(accountId);
  deltas.set(accountId, {
    debitsPending: (current?.debitsPending ?? 0n) + (change.debitsPending ?? 0n),
    debitsPosted: (current?.debitsPosted ?? 0n) + (change.debitsPosted ?? 0n),
    creditsPending: (current?.creditsPending ?? 0n) + (change.creditsPending ?? 0n),
    creditsPosted: (current?.creditsPosted ?? 0n) + (change.creditsPosted ?? 0n),
  });
}

/** The input's currency as stored, or the input's own text when unsupported (never equal). */
function currencyOf(input: TransferInput): string | undefined {
  if (input.currency === undefined) return undefined;
  return normalizeCurrency(input.currency) ?? input.currency;
}

function unsupportedCurrency(input: TransferInput): boolean {
  return input.currency !== undefined && normalizeCurrency(input.currency) === null;
}

/**
 * The rules of one transfer against the ledger as it stands (TigerBeetle's order: id,
 * parse failures, flags, code, idempotency by id, then the fields and the accounts).
 */
export function validateTransfer(
  view: LedgerView,
  input: TransferInput,
  nowS: number,
): ValidatedTransfer {
  if (input.id.length === 0) return { result: 'id_must_not_be_empty' };
  if (input.invalid !== undefined) {
    assert(!isSuccess(input.invalid), 'a parse failure is never a success');
    return { result: input.invalid };
  }
  const flags = flagsOf(input);
  if ([flags.pending, flags.postPending, flags.voidPending].filter(Boolean).length > 1) {
    return { result: 'flags_are_mutually_exclusive' };
  }
  if (input.code === 0) return { result: 'code_must_not_be_zero' };
  const existing = view.transfers.get(input.id);
  if (existing) return { result: compareExisting(existing, input, flags) };
  return flags.postPending || flags.voidPending
    ? validateResolve(view, input, flags, nowS)
    : validatePlain(view, input, flags, nowS);
}

function compareExisting(
  existing: Transfer,
  input: TransferInput,
  flags: TransferFlags,
): TransferResult {
  if (!sameFlags(existing.flags, flags)) return 'exists_with_different_flags';
  if (input.debitAccountId !== undefined && input.debitAccountId !== existing.debitAccountId) {
    return 'exists_with_different_debit_account_id';
  }
  if (input.creditAccountId !== undefined && input.creditAccountId !== existing.creditAccountId) {
    return 'exists_with_different_credit_account_id';
  }
  if (input.amount !== undefined && input.amount !== existing.amount) {
    return 'exists_with_different_amount';
  }
  if ((input.pendingId ?? null) !== existing.pendingId) return 'exists_with_different_pending_id';
  const currency = currencyOf(input);
  if (currency !== undefined && currency !== existing.currency) {
    return 'exists_with_different_currency';
  }
  if (input.code !== existing.code) return 'exists_with_different_code';
  if ((input.timeoutS ?? 0) !== existing.timeoutS) return 'exists_with_different_timeout';
  return 'exists';
}

/** The checks of a plain or pending transfer that need only its own fields. */
function checkPlainFields(input: TransferInput, flags: TransferFlags): TransferResult | null {
  if (input.pendingId !== undefined) return 'pending_id_must_be_empty';
  if ((input.timeoutS ?? 0) !== 0 && !flags.pending) return 'timeout_reserved_for_pending_transfer';
  if (input.debitAccountId === undefined) return 'debit_account_id_required';
  if (input.creditAccountId === undefined) return 'credit_account_id_required';
  if (input.amount === undefined || input.amount <= 0n) return 'amount_must_be_positive';
  if (input.amount > AMOUNT_MAX) return 'amount_exceeds_maximum';
  if (unsupportedCurrency(input)) return 'currency_not_supported';
  if (input.debitAccountId === input.creditAccountId) return 'accounts_must_be_different';
  return null;
}

function validatePlain(
  view: LedgerView,
  input: TransferInput,
  flags: TransferFlags,
  nowS: number,
): ValidatedTransfer {
  const refused = checkPlainFields(input, flags);
  if (refused) return { result: refused };
  assert(input.debitAccountId !== undefined, 'checked: debit account id');
  assert(input.creditAccountId !== undefined, 'checked: credit account id');
  assert(input.amount !== undefined, 'checked: amount');
  const debit = view.accounts.get(input.debitAccountId);
  const credit = view.accounts.get(input.creditAccountId);
  if (!debit) return { result: 'debit_account_not_found' };
  if (!credit) return { result: 'credit_account_not_found' };
  if (debit.currency !== credit.currency) return { result: 'accounts_must_have_the_same_currency' };
  const currency = currencyOf(input);
  if (currency !== undefined && currency !== debit.currency) {
    return { result: 'transfer_must_have_the_same_currency_as_accounts' };
  }
  const amount = input.amount;
  const overdrawn = checkBalances(debit, credit, amount);
  if (overdrawn) return { result: overdrawn };
  const field = flags.pending ? 'Pending' : 'Posted';
  const deltas = new Map<string, AccountBalances>();
  addDelta(deltas, debit.id, { [`debits${field}`]: amount });
  addDelta(deltas, credit.id, { [`credits${field}`]: amount });
  return {
    transfer: {
      id: input.id,
      debitAccountId: debit.id,
      creditAccountId: credit.id,
      amount,
      currency: debit.currency,
      code: input.code,
      flags,
      pendingId: null,
      timeoutS: input.timeoutS ?? 0,
      timestampS: nowS,
    },
    deltas,
  };
}

function checkBalances(debit: Account, credit: Account, amount: bigint): TransferResult | null {
  const debits = debit.debitsPending + debit.debitsPosted + amount;
  const credits = credit.creditsPending + credit.creditsPosted + amount;
  if (debits > AMOUNT_MAX || credits > AMOUNT_MAX) return 'overflows_balance';
  if (debit.flags.debitsMustNotExceedCredits && debits > debit.creditsPosted) {
    return 'exceeds_credits';
  }
  if (credit.flags.creditsMustNotExceedDebits && credits > credit.debitsPosted) {
    return 'exceeds_debits';
  }
  return null;
}

/** The checks of a post or void against the pending transfer it names. */
function checkResolve(
  view: LedgerView,
  input: TransferInput,
  flags: TransferFlags,
  pending: Transfer,
  nowS: number,
): TransferResult | null {
  if (!pending.flags.pending) return 'pending_transfer_not_pending';
  if (input.debitAccountId !== undefined && input.debitAccountId !== pending.debitAccountId) {
    return 'pending_transfer_has_different_debit_account_id';
  }
  if (input.creditAccountId !== undefined && input.creditAccountId !== pending.creditAccountId) {
    return 'pending_transfer_has_different_credit_account_id';
  }
  const currency = currencyOf(input);
  if (currency !== undefined && currency !== pending.currency) {
    return 'pending_transfer_has_different_currency';
  }
  const amount = input.amount ?? pending.amount;
  if (amount <= 0n) return 'amount_must_be_positive';
  if (flags.voidPending && amount !== pending.amount) {
    return 'pending_transfer_has_different_amount';
  }
  if (amount > pending.amount) return 'exceeds_pending_transfer_amount';
  const status = view.pendingStatus.get(pending.id);
  assert(status !== undefined, 'a pending transfer has a status');
  if (status === 'posted') return 'pending_transfer_already_posted';
  if (status === 'voided') return 'pending_transfer_already_voided';
  const timedOut = pending.timeoutS > 0 && nowS >= pending.timestampS + pending.timeoutS;
  if (status === 'expired' || timedOut) return 'pending_transfer_expired';
  return null;
}

function validateResolve(
  view: LedgerView,
  input: TransferInput,
  flags: TransferFlags,
  nowS: number,
): ValidatedTransfer {
  if (input.pendingId === undefined) return { result: 'pending_id_required' };
  if (input.pendingId === input.id) return { result: 'pending_id_must_be_different' };
  if ((input.timeoutS ?? 0) !== 0) return { result: 'timeout_reserved_for_pending_transfer' };
  if (unsupportedCurrency(input)) return { result: 'currency_not_supported' };
  const pending = view.transfers.get(input.pendingId);
  if (!pending) return { result: 'pending_transfer_not_found' };
  const refused = checkResolve(view, input, flags, pending, nowS);
  if (refused) return { result: refused };
  assert(view.accounts.has(pending.debitAccountId), 'load the accounts of a pending transfer');
  assert(view.accounts.has(pending.creditAccountId), 'load the accounts of a pending transfer');
  const amount = input.amount ?? pending.amount;
  // The whole reservation is released; a post then books what was captured (partial capture).
  const deltas = new Map<string, AccountBalances>();
  addDelta(deltas, pending.debitAccountId, {
    debitsPending: -pending.amount,
    debitsPosted: flags.postPending ? amount : 0n,
  });
  addDelta(deltas, pending.creditAccountId, {
    creditsPending: -pending.amount,
    creditsPosted: flags.postPending ? amount : 0n,
  });
  return {
    transfer: {
      id: input.id,
      debitAccountId: pending.debitAccountId,
      creditAccountId: pending.creditAccountId,
      amount,
      currency: pending.currency,
      code: input.code,
      flags,
      pendingId: pending.id,
      timeoutS: 0,
      timestampS: nowS,
    },
    deltas,
  };
}
