import type { ApiKey, Merchant } from './merchant.model';

/** A `merchants` row as PostgreSQL returns it (bigint columns arrive as strings). */
export interface MerchantRow {
  id: string;
  name: string;
  webhook_url: string | null;
  webhook_secret: string;
  previous_webhook_secret: string | null;
  previous_webhook_secret_expires_at: Date | null;
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

export function toMerchant(row: MerchantRow): Merchant {
  return {
    id: row.id,
    name: row.name,
    webhookUrl: row.webhook_url,
    webhookSecret: row.webhook_secret,
    previousWebhookSecret:
      row.previous_webhook_secret !== null && row.previous_webhook_secret_expires_at !== null
        ? {
            secret: row.previous_webhook_secret,
            expiresAt: row.previous_webhook_secret_expires_at,
          }
        : null,
    pricing: { percentBps: row.pricing_percent_bps, fixed: BigInt(row.pricing_fixed) },
    createdAt: row.created_at,
  };
}

export function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    prefix: row.prefix,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}
