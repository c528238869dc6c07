/** Rows as the settlement repositories read them (bigint columns arrive as strings). */

export interface RunRow {
  id: string;
  cut_off: Date;
  status: 'running' | 'completed' | 'partially_failed';
  merchants: number;
  attempt: number;
  created_at: Date;
  completed_at: Date | null;
}

export interface RunMerchantRow {
  run_id: string;
  merchant_id: string;
  status: 'pending' | 'settled' | 'failed';
  attempt: number;
}

export interface SettlementRow {
  id: string;
  run_id: string;
  merchant_id: string;
  currency: string;
  status: 'posting' | 'settled';
  attempt: number;
  fees_owed_in: string;
  fees_collected: string;
  fees_owed_out: string;
  to_available: string;
  payout_id: string | null;
}

export interface PricingRow {
  pricing_percent_bps: number;
  pricing_fixed: string;
}

export interface PayoutRow {
  id: string;
  merchant_id: string;
  currency: string;
  amount: string;
  status: 'pending' | 'paid' | 'failed';
  settlement_id: string;
}
