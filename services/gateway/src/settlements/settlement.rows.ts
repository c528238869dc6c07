import type { PayoutStatus, SettlementRunStatus } from '@clearline/contracts';
import type { Payout, Settlement, SettlementRun } from './settlement.model';

/** The select list of a run. */
export const RUN_COLUMNS = 'id, cut_off, status, merchants, created_at, completed_at';

/** A `settlement_runs` row. */
export interface SettlementRunRow {
  id: string;
  cut_off: Date;
  status: SettlementRunStatus;
  merchants: number;
  created_at: Date;
  completed_at: Date | null;
}

export function toSettlementRun(row: SettlementRunRow): SettlementRun {
  return {
    id: row.id,
    cutOff: row.cut_off,
    status: row.status,
    merchants: row.merchants,
    createdAt: row.created_at,
    completedAt: row.completed_at,
  };
}

/**
 * The select list of a settlement (from `settlements`). Its payout is the one the
 * settlement names, else the payout that names it: either side may be written first.
 */
export const SETTLEMENT_COLUMNS = `id, merchant_id, run_id, currency, count, gross, refunds, fees, net,
  fees_owed_in, fees_owed_out, created_at,
  coalesce(payout_id, (SELECT p.id FROM payouts p WHERE p.settlement_id = settlements.id)) AS payout_id`;

/** A `settlements` row as PostgreSQL returns it (bigint columns arrive as strings). */
export interface SettlementRow {
  id: string;
  merchant_id: string;
  run_id: string;
  currency: string;
  count: number;
  gross: string;
  refunds: string;
  fees: string;
  net: string;
  fees_owed_in: string;
  fees_owed_out: string;
  payout_id: string | null;
  created_at: Date;
}

export function toSettlement(row: SettlementRow): Settlement {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    runId: row.run_id,
    currency: row.currency,
    count: row.count,
    gross: BigInt(row.gross),
    refunds: BigInt(row.refunds),
    fees: BigInt(row.fees),
    net: BigInt(row.net),
    feesCarriedIn: BigInt(row.fees_owed_in),
    feesCarriedOut: BigInt(row.fees_owed_out),
    payoutId: row.payout_id,
    createdAt: row.created_at,
  };
}

/** The select list of a payout. */
export const PAYOUT_COLUMNS =
  'id, merchant_id, currency, amount, status, settlement_id, failure_code, created_at';

/** A `payouts` row. */
export interface PayoutRow {
  id: string;
  merchant_id: string;
  currency: string;
  amount: string;
  status: PayoutStatus;
  settlement_id: string;
  failure_code: string | null;
  created_at: Date;
}

export function toPayout(row: PayoutRow): Payout {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    currency: row.currency,
    amount: BigInt(row.amount),
    status: row.status,
    settlementId: row.settlement_id,
    failureCode: row.failure_code,
    createdAt: row.created_at,
  };
}
