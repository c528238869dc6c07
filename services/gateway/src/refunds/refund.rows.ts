/** What a merchant sees in a refund's `status`. */
export type RefundStatus = 'pending' | 'succeeded' | 'failed' | 'canceled';

/** A `refunds` row as PostgreSQL returns it (bigint columns arrive as strings). */
export interface RefundRow {
  id: string;
  merchant_id: string;
  payment_id: string;
  amount: string;
  currency: string;
  status: RefundStatus;
  reason: string | null;
  failure_reason: string | null;
  metadata: Record<string, string>;
  created_at: Date;
}

/** The refund-related columns of a payment, read under a row lock. */
export interface RefundablePaymentRow {
  id: string;
  status: string;
  amount_captured: string;
  amount_refunded: string;
  amount_refund_reserved: string;
  currency: string;
  source: string;
}
