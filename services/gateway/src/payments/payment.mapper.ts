import { unixSeconds, type Plain } from '../http/wire';
import type { PaymentDto, PaymentStatus } from './payment.dto';
import type { PaymentRow, PaymentState } from './payment.rows';
import type { PaymentChange } from './payments.repository';

/** Transitional states are `processing` to the merchant: the outcome is not known yet. */
export function publicStatus(state: PaymentState): PaymentStatus {
  return state === 'capturing' || state === 'canceling' ? 'processing' : state;
}

/** Amounts are bounded by PAYMENT_AMOUNT_MAX, so exact as JSON numbers. */
export function toPaymentDto(row: PaymentRow): Plain<PaymentDto> {
  return {
    id: row.id,
    object: 'payment',
    amount: Number(row.amount),
    currency: row.currency,
    status: publicStatus(row.status),
    capture_method: row.capture_method,
    amount_capturable: Number(row.amount_capturable),
    amount_captured: Number(row.amount_captured),
    amount_refunded: Number(row.amount_refunded),
    source: row.source,
    description: row.description,
    metadata: row.metadata,
    failure_code: row.failure_code,
    failure_message: row.failure_message,
    created: unixSeconds(row.created_at),
  };
}

/** The row as a status change leaves it (what the change's event reports). */
export function applyChange(row: PaymentRow, change: PaymentChange): PaymentRow {
  return {
    ...row,
    status: change.status,
    amount_capturable: change.amountCapturable?.toString() ?? row.amount_capturable,
    amount_captured: change.amountCaptured?.toString() ?? row.amount_captured,
    failure_code: change.failureCode ?? null,
    failure_message: change.failureMessage ?? null,
  };
}
