import { unixSeconds, type Plain } from '../http/wire';
import type { RefundDto, RefundReason } from './refund.dto';
import type { RefundRow } from './refund.rows';

/** Amounts are bounded by PAYMENT_AMOUNT_MAX, so exact as JSON numbers. */
export function toRefundDto(row: RefundRow): Plain<RefundDto> {
  return {
    id: row.id,
    object: 'refund',
    payment: row.payment_id,
    amount: Number(row.amount),
    currency: row.currency,
    status: row.status,
    reason: row.reason as RefundReason | null,
    failure_reason: row.failure_reason,
    metadata: row.metadata,
    created: unixSeconds(row.created_at),
  };
}
