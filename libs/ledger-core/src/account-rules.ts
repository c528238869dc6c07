import { normalizeCurrency } from './currency';
import { noAccountFlags, type Account, type AccountFlags, type AccountInput } from './model';
import type { AccountResult } from './results';

/** A new account with zero balances, or the result that refuses (or recognises) it. */
export type ValidatedAccount = { result: AccountResult } | { account: Account };

/**
 * The rules for creating an account (TigerBeetle order: the input's own fields first,
 * then the account that already holds its id). `existing` is that account, if any.
 */
export function validateAccount(
  input: AccountInput,
  existing: Account | undefined,
): ValidatedAccount {
  const flags: AccountFlags = { ...noAccountFlags(), ...input.flags };
  if (input.id.length === 0) return { result: 'id_must_not_be_empty' };
  if (flags.debitsMustNotExceedCredits && flags.creditsMustNotExceedDebits) {
    return { result: 'flags_are_mutually_exclusive' };
  }
  const currency = normalizeCurrency(input.currency);
  if (currency === null) return { result: 'currency_not_supported' };
  if (input.code === 0) return { result: 'code_must_not_be_zero' };
  if (existing) return { result: compareAccount(existing, input, currency, flags) };
  return {
    account: {
      id: input.id,
      currency,
      code: input.code,
      owner: input.owner,
      flags,
      debitsPending: 0n,
      debitsPosted: 0n,
      creditsPending: 0n,
      creditsPosted: 0n,
    },
  };
}

function compareAccount(
  existing: Account,
  input: AccountInput,
  currency: string,
  flags: AccountFlags,
): AccountResult {
  if (currency !== existing.currency) return 'exists_with_different_currency';
  if (input.code !== existing.code) return 'exists_with_different_code';
  if (input.owner !== existing.owner) return 'exists_with_different_owner';
  if (
    flags.debitsMustNotExceedCredits !== existing.flags.debitsMustNotExceedCredits ||
    flags.creditsMustNotExceedDebits !== existing.flags.creditsMustNotExceedDebits
  ) {
    return 'exists_with_different_flags';
  }
  return 'exists';
}
