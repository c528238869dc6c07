import type { Refund, RefundablePayment, RefundReason, RefundStatus } from './refund.model';

/** The select list of a refund (every query that returns refunds uses it). */
export const REFUND_COLUMNS = `id, merchant_id, payment_id, amount, currency, status, reason, failure_reason,
  metadata, created_at, updated_at`;

/** A `refunds` row as PostgreSQL returns it (bigint columns arrive as strings). */
export interface RefundRow {
  id: string;
  merchant_id: string;
  payment_id: string;
  amount: string;
  currency: string;
  status: RefundStatus;
  reason: RefundReason | null;
  failure_reason: string | null;
  metadata: Record<string, string>;
  created_at: Date;
  updated_at: Date;
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

/** The refund a row holds. */
export function toRefund(row: RefundRow): Refund {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    paymentId: row.payment_id,
    amount: BigInt(row.amount),
    currency: row.currency,
    status: row.status,
    reason: row.reason,
    failureReason: row.failure_reason,
    metadata: row.metadata,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toRefundablePayment(row: RefundablePaymentRow): RefundablePayment {
  return {
    id: row.id,
    status: row.status,
    amountCaptured: BigInt(row.amount_captured),
    amountRefunded: BigInt(row.amount_refunded),
    amountRefundReserved: BigInt(row.amount_refund_reserved),
    currency: row.currency,
    source: row.source,
  };
}
