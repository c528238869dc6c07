import type { ServiceName } from './services';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
} from 'class-validator';

/** The ledger's tasks. Every movement of money is a `ledger.create_transfers` task. */
export const LEDGER_TASK = {
  createAccounts: 'ledger.create_accounts',
  createTransfers: 'ledger.create_transfers',
  lookupAccounts: 'ledger.lookup_accounts',
  lookupTransfers: 'ledger.lookup_transfers',
  balances: 'ledger.balances',
  openMerchant: 'ledger.open_merchant',
  check: 'ledger.check',
} as const;

/**
 * Who may send the ledger's tasks (by broker user; the ledger itself always may): money
 * and balances move only for the services whose contracts move them.
 */
export const LEDGER_SENDERS = {
  /** Transfers, accounts, lookups and balances: the payment, refund and settlement paths. */
  money: ['gateway', 'refund', 'settlement'],
  /** A merchant's accounts are opened when the gateway creates the merchant. */
  openMerchant: ['gateway'],
  /** The invariant check, a read-only report: any service (the operators' API is the gateway's). */
  check: ['gateway', 'ledger', 'refund', 'settlement'],
} as const satisfies Record<string, readonly ServiceName[]>;

/** Transfers per `ledger.create_transfers` task, and accounts per `ledger.create_accounts`. */
export const LEDGER_BATCH_SIZE_MAX = 1_000;
/** Ids per lookup task. */
export const LEDGER_LOOKUP_SIZE_MAX = 1_000;

/**
 * A transfer on the wire. Amounts are integers in the currency's minor unit, as a
 * string of digits (exact for every bigint) or a JSON number up to 2^53 - 1.
 * Post/void may leave accounts and amount to the pending transfer (a smaller amount
 * on a post is a partial capture: the rest is released).
 */
export interface TransferWire {
  id: string;
  debit_account_id?: string;
  credit_account_id?: string;
  amount?: string | number;
  /** ISO 4217, either case; must be the accounts' currency. */
  currency?: string;
  /** Why the money moved (see TRANSFER_CODE). */
  code: number;
  flags?: { pending?: boolean; post_pending?: boolean; void_pending?: boolean; linked?: boolean };
  pending_id?: string;
  /** Seconds a pending transfer may wait to be posted or voided; 0 = forever. */
  timeout_s?: number;
}

/** Why money moved: the `code` of a transfer. */
export const TRANSFER_CODE = {
  authorization: 1,
  capture: 2,
  void: 3,
  refund: 4,
  settlement: 5,
  fee: 6,
  payout: 7,
  reversal: 8,
  adjustment: 9,
} as const;

export class CreateTransfersPayload {
  /** Checked one by one by the ledger: a bad transfer gets its named result, not a dead letter. */
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(LEDGER_BATCH_SIZE_MAX)
  @IsObject({ each: true })
  transfers!: TransferWire[];
}

/** One result per transfer, in order: `ok` and `exists` are success (TigerBeetle's results). */
export interface CreateTransfersResult {
  results: string[];
}

export interface AccountWire {
  id: string;
  currency: string;
  code: number;
  owner: string;
  flags?: { debits_must_not_exceed_credits?: boolean; credits_must_not_exceed_debits?: boolean };
}

export class CreateAccountsPayload {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(LEDGER_BATCH_SIZE_MAX)
  @IsObject({ each: true })
  accounts!: AccountWire[];
}

export interface CreateAccountsResult {
  results: string[];
}

/** An account as the ledger reports it; balances are decimal strings of minor units. */
export interface AccountView {
  id: string;
  currency: string;
  code: number;
  owner: string;
  flags: { debits_must_not_exceed_credits: boolean; credits_must_not_exceed_debits: boolean };
  debits_pending: string;
  debits_posted: string;
  credits_pending: string;
  credits_posted: string;
}

export interface TransferView {
  id: string;
  debit_account_id: string;
  credit_account_id: string;
  amount: string;
  currency: string;
  code: number;
  flags: { pending: boolean; post_pending: boolean; void_pending: boolean; linked: boolean };
  pending_id: string | null;
  timeout_s: number;
  /** For a pending transfer: pending, posted, voided or expired. */
  pending_status: string | null;
  created_at: string;
}

export class LookupPayload {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(LEDGER_LOOKUP_SIZE_MAX)
  @IsString({ each: true })
  @MaxLength(200, { each: true })
  ids!: string[];
}

export class OpenMerchantPayload {
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/)
  merchant_id!: string;
}

export class BalancesPayload {
  @IsString()
  @MaxLength(200)
  owner!: string;

  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z]{3}$/)
  currency?: string;
}

/** A merchant's money per currency: what it can pay out, and what is still on its way. */
export interface BalancesResult {
  owner: string;
  available: { currency: string; amount: string }[];
  pending: { currency: string; amount: string }[];
}

/** The operator's invariant report over the whole ledger. */
export interface LedgerCheckResult {
  object: 'ledger_check';
  balanced: boolean;
  currencies: { currency: string; debits: string; credits: string }[];
  violations: string[];
}

/** What each account of a merchant is for. */
export type MerchantAccountRole = 'pending' | 'available' | 'payouts';
/** What each platform account is for. */
export type PlatformAccountRole = 'clearing' | 'fees' | 'payouts';

/** The owner of the platform's own accounts. */
export const PLATFORM_OWNER = 'platform';

/**
 * Account ids are derived, so every service names the same account without a lookup:
 * `mer_123:available:USD`, `platform:clearing:USD`.
 */
export function merchantAccountId(
  merchantId: string,
  role: MerchantAccountRole,
  currency: string,
): string {
  return `${merchantId}:${role}:${currency.toUpperCase()}`;
}

export function platformAccountId(role: PlatformAccountRole, currency: string): string {
  return `${PLATFORM_OWNER}:${role}:${currency.toUpperCase()}`;
}
