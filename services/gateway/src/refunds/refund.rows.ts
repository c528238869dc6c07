import type { Refund, RefundReason, RefundStatus } from './refund.model';

/** The select list of a refund (every query that returns refunds uses it). */
export const REFUND_COLUMNS = `id, merchant_id, payment_id, amount, currency, status, reason, failure_reason,
  processor_reference, metadata, created_at, updated_at`;

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
  processor_reference: string | null;
  metadata: Record<string, string>;
  created_at: Date;
  updated_at: Date;
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
    processorReference: row.processor_reference,
    metadata: row.metadata,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
