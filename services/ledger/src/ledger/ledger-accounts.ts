import { ACCOUNT_CODES, type AccountInput } from '@clearline/ledger-core';
import {
  merchantAccountId,
  platformAccountId,
  PLATFORM_OWNER,
  type MerchantAccountRole,
  type PlatformAccountRole,
} from '@clearline/contracts';

/**
 * The chart of accounts, per currency.
 *
 * A merchant has `pending` (captured, not yet settled to it), `available` (settled, can
 * be paid out or refunded from) and `payouts` (paid out). Neither pending nor
 * available may go negative. The platform has `clearing` (what the processor owes us:
 * debit-normal), `fees` and `payouts`.
 */
const MERCHANT_ACCOUNTS: Record<
  MerchantAccountRole,
  Omit<AccountInput, 'id' | 'currency' | 'owner'>
> = {
  pending: { code: ACCOUNT_CODES.merchantPending, flags: { debitsMustNotExceedCredits: true } },
  available: { code: ACCOUNT_CODES.merchantAvailable, flags: { debitsMustNotExceedCredits: true } },
  payouts: { code: ACCOUNT_CODES.merchantPayouts },
};

const PLATFORM_ACCOUNTS: Record<
  PlatformAccountRole,
  Omit<AccountInput, 'id' | 'currency' | 'owner'>
> = {
  clearing: { code: ACCOUNT_CODES.processorClearing },
  fees: { code: ACCOUNT_CODES.platformFees },
  payouts: { code: ACCOUNT_CODES.platformPayouts },
};

export function merchantAccounts(
  merchantId: string,
  currencies: readonly string[],
): AccountInput[] {
  return currencies.flatMap((currency) =>
    (Object.keys(MERCHANT_ACCOUNTS) as MerchantAccountRole[]).map((role) => ({
      id: merchantAccountId(merchantId, role, currency),
      currency,
      owner: merchantId,
      ...MERCHANT_ACCOUNTS[role],
    })),
  );
}

export function platformAccounts(currencies: readonly string[]): AccountInput[] {
  return currencies.flatMap((currency) =>
    (Object.keys(PLATFORM_ACCOUNTS) as PlatformAccountRole[]).map((role) => ({
      id: platformAccountId(role, currency),
      currency,
      owner: PLATFORM_OWNER,
      ...PLATFORM_ACCOUNTS[role],
    })),
  );
}
