/** A `merchants` row as PostgreSQL returns it (bigint columns arrive as strings). */
export interface MerchantRow {
  id: string;
  name: string;
  webhook_url: string | null;
  webhook_secret: string;
  pricing_percent_bps: number;
  pricing_fixed: string;
  created_at: Date;
}

/** An `api_keys` row, without its hash. */
export interface ApiKeyRow {
  id: string;
  merchant_id: string;
  prefix: string;
  created_at: Date;
  revoked_at: Date | null;
}
