/** What a merchant pays per payment: a percentage in basis points plus a fixed fee. */
export interface Pricing {
  percentBps: number;
  /** Minor units. */
  fixed: bigint;
}

/** A merchant, secrets included: only the merchant's own routes and webhooks use them. */
export interface Merchant {
  id: string;
  name: string;
  /** Where events are POSTed; null: nowhere. */
  webhookUrl: string | null;
  /** Signs webhooks (`whsec_…`). */
  webhookSecret: string;
  /**
   * The secret a roll replaced, still signing deliveries (beside the current one) until
   * it expires; null when none is.
   */
  previousWebhookSecret: { secret: string; expiresAt: Date } | null;
  pricing: Pricing;
  createdAt: Date;
}

/** An API key as stored: its digest is never read back. */
export interface ApiKey {
  id: string;
  merchantId: string;
  /** What may be displayed of the key. */
  prefix: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** A new merchant and the secret of its first API key (returned once, never stored). */
export interface CreatedMerchant {
  merchant: Merchant;
  apiKey: string;
}

/** The longest the previous webhook secret may keep signing after a roll: a day, as at Stripe. */
export const PREVIOUS_WEBHOOK_SECRET_S_MAX = 24 * 3_600;

/** A merchant's new webhook secret (returned once), and until when the previous one signs too. */
export interface RolledWebhookSecret {
  merchantId: string;
  secret: string;
  previousExpiresAt: Date | null;
  createdAt: Date;
}

/** A new API key, its secret (returned once), and the ids of the keys it replaced. */
export interface RolledApiKey {
  key: ApiKey;
  apiKey: string;
  revoked: string[];
}
