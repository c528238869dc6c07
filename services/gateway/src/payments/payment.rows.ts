import type { CaptureMethod, Payment, PaymentState, RefundablePayment } from './payment.model';

/** The select list of a payment (every query that returns payments uses it). */
export const PAYMENT_COLUMNS = `id, merchant_id, amount, currency, status, capture_method, amount_capturable,
  amount_captured, amount_refunded, source, description, metadata, failure_code,
  failure_message, processor_reference, created_at, updated_at`;

/** A `payments` row as PostgreSQL returns it (bigint columns arrive as strings). */
export interface PaymentRow {
  id: string;
  merchant_id: string;
  amount: string;
  currency: string;
  status: PaymentState;
  capture_method: CaptureMethod;
  amount_capturable: string;
  amount_captured: string;
  amount_refunded: string;
  source: string;
  description: string | null;
  metadata: Record<string, string>;
  failure_code: string | null;
  failure_message: string | null;
  processor_reference: string | null;
  created_at: Date;
  updated_at: Date;
}

/** The payment a row holds. */
export function toPayment(row: PaymentRow): Payment {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    amount: BigInt(row.amount),
    currency: row.currency,
    status: row.status,
    captureMethod: row.capture_method,
    amountCapturable: BigInt(row.amount_capturable),
    amountCaptured: BigInt(row.amount_captured),
    amountRefunded: BigInt(row.amount_refunded),
    source: row.source,
    description: row.description,
    metadata: row.metadata,
    failureCode: row.failure_code,
    failureMessage: row.failure_message,
    processorReference: row.processor_reference,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** A payment row with the amount pending refunds reserve. */
export interface RefundablePaymentRow extends PaymentRow {
  amount_refund_reserved: string;
}

export function toRefundablePayment(row: RefundablePaymentRow): RefundablePayment {
  return { ...toPayment(row), amountRefundReserved: BigInt(row.amount_refund_reserved) };
}
