import type {
  AccountView,
  AccountWire,
  CreateTransfersResult,
  TransferView,
  TransferWire,
} from '@clearline/contracts';
import {
  formatAmount,
  parseAmount,
  type Account,
  type AccountInput,
  type PendingStatus,
  type Transfer,
  type TransferInput,
  type TransferResult,
} from '@clearline/ledger-core';

/** The largest `code` and `timeout_s`: PostgreSQL's integer. */
const INT_MAX = 2 ** 31 - 1;

type Raw = Record<string, unknown>;

function optionalString(raw: Raw, key: string): string | undefined | null {
  const value = raw[key];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : null;
}

function isIntIn(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= INT_MAX;
}

function flagsFromWire(raw: unknown): TransferInput['flags'] | null {
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const flags = raw as Raw;
  const known = ['pending', 'post_pending', 'void_pending', 'linked'];
  if (Object.keys(flags).some((key) => !known.includes(key))) return null;
  if (Object.values(flags).some((value) => typeof value !== 'boolean')) return null;
  return {
    pending: flags['pending'] === true,
    postPending: flags['post_pending'] === true,
    voidPending: flags['void_pending'] === true,
    linked: flags['linked'] === true,
  };
}

/**
 * A transfer as the wire gave it, checked field by field without throwing: whatever is
 * wrong with it becomes the transfer's `invalid` result, so a bad transfer fails alone
 * (or with its linked chain) and the rest of the batch applies.
 */
export function transferFromWire(wire: TransferWire): TransferInput {
  const raw = wire as unknown as Raw;
  const id = typeof raw['id'] === 'string' ? raw['id'] : '';
  const debitAccountId = optionalString(raw, 'debit_account_id');
  const creditAccountId = optionalString(raw, 'credit_account_id');
  const pendingId = optionalString(raw, 'pending_id');
  const currency = optionalString(raw, 'currency');
  const flags = flagsFromWire(raw['flags']);
  const code = isIntIn(raw['code'], 1) ? raw['code'] : 0;
  const timeoutS = raw['timeout_s'] === undefined ? 0 : raw['timeout_s'];
  const input: TransferInput = {
    id,
    code,
    flags: flags ?? {},
    ...(debitAccountId ? { debitAccountId } : {}),
    ...(creditAccountId ? { creditAccountId } : {}),
    ...(pendingId ? { pendingId } : {}),
    ...(currency ? { currency } : {}),
    timeoutS: isIntIn(timeoutS, 0) ? timeoutS : 0,
  };
  const invalid = firstInvalid(raw, {
    debitAccountId,
    creditAccountId,
    pendingId,
    currency,
    flags,
    code,
    timeoutS,
  });
  if (invalid) return { ...input, invalid };
  if (raw['amount'] === undefined) return input;
  const amount = parseAmount(raw['amount']);
  return 'invalid' in amount
    ? { ...input, invalid: amount.invalid }
    : { ...input, amount: amount.amount };
}

function firstInvalid(
  raw: Raw,
  fields: {
    debitAccountId: string | null | undefined;
    creditAccountId: string | null | undefined;
    pendingId: string | null | undefined;
    currency: string | null | undefined;
    flags: TransferInput['flags'] | null;
    code: number;
    timeoutS: unknown;
  },
): TransferResult | null {
  if (fields.flags === null) return 'flags_must_be_booleans';
  if (fields.debitAccountId === null) return 'debit_account_id_required';
  if (fields.creditAccountId === null) return 'credit_account_id_required';
  if (fields.pendingId === null) return 'pending_id_required';
  if (fields.currency === null) return 'currency_not_supported';
  if (fields.code === 0) return 'code_must_not_be_zero';
  if (!isIntIn(fields.timeoutS, 0)) return 'timeout_must_be_integer';
  return raw['id'] === undefined || typeof raw['id'] === 'string' ? null : 'id_must_not_be_empty';
}

/** One task's result per batch of transfers, in the order of the tasks. */
export function createTransfersResults(batches: TransferResult[][]): CreateTransfersResult[] {
  return batches.map((results) => ({ results }));
}

export function accountFromWire(wire: AccountWire): AccountInput {
  const raw = wire as unknown as Raw;
  const flags = (
    typeof raw['flags'] === 'object' && raw['flags'] !== null ? raw['flags'] : {}
  ) as Raw;
  return {
    id: typeof raw['id'] === 'string' ? raw['id'] : '',
    currency: typeof raw['currency'] === 'string' ? raw['currency'] : '',
    code: isIntIn(raw['code'], 1) ? raw['code'] : 0,
    owner: typeof raw['owner'] === 'string' ? raw['owner'] : '',
    flags: {
      debitsMustNotExceedCredits: flags['debits_must_not_exceed_credits'] === true,
      creditsMustNotExceedDebits: flags['credits_must_not_exceed_debits'] === true,
    },
  };
}

export function accountView(account: Account): AccountView {
  return {
    id: account.id,
    currency: account.currency,
    code: account.code,
    owner: account.owner,
    flags: {
      debits_must_not_exceed_credits: account.flags.debitsMustNotExceedCredits,
      credits_must_not_exceed_debits: account.flags.creditsMustNotExceedDebits,
    },
    debits_pending: formatAmount(account.debitsPending),
    debits_posted: formatAmount(account.debitsPosted),
    credits_pending: formatAmount(account.creditsPending),
    credits_posted: formatAmount(account.creditsPosted),
  };
}

export function transferView(
  transfer: Transfer,
  status: PendingStatus | null,
  createdAt: Date,
): TransferView {
  return {
    id: transfer.id,
    debit_account_id: transfer.debitAccountId,
    credit_account_id: transfer.creditAccountId,
    amount: formatAmount(transfer.amount),
    currency: transfer.currency,
    code: transfer.code,
    flags: {
      pending: transfer.flags.pending,
      post_pending: transfer.flags.postPending,
      void_pending: transfer.flags.voidPending,
      linked: transfer.flags.linked,
    },
    pending_id: transfer.pendingId,
    timeout_s: transfer.timeoutS,
    pending_status: status,
    created_at: createdAt.toISOString(),
  };
}
