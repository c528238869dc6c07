import { REFUND_SETTLED_RESULT_VERSION, type RefundSettledResult } from '@clearline/contracts';
import { unixSeconds, type Plain } from '../http/wire';
import type { RefundDto } from './refund.dto';
import type { Refund } from './refund.model';

/** The REST refund object. Amounts are bounded by PAYMENT_AMOUNT_MAX, so exact as JSON numbers. */
export function toRefundDto(refund: Refund): Plain<RefundDto> {
  return {
    id: refund.id,
    object: 'refund',
    payment: refund.paymentId,
    amount: Number(refund.amount),
    currency: refund.currency,
    status: refund.status,
    reason: refund.reason,
    failure_reason: refund.failureReason,
    metadata: refund.metadata,
    created: unixSeconds(refund.createdAt),
  };
}

/** The outcome task's result: what the outcome changed, as the refund stands. */
export function toRefundSettledResult(refund: Refund): RefundSettledResult {
  return {
    version: REFUND_SETTLED_RESULT_VERSION,
    refund_id: refund.id,
    status: refund.status,
    failure_reason: refund.failureReason,
    updated_at: refund.updatedAt.toISOString(),
  };
}

/**
 * The refund a request holds (as it wrote it) as its outcome left it: the waiting
 * request answers with this, without reading the refund again.
 */
export function withSettledResult(refund: Refund, result: RefundSettledResult): Refund {
  return {
    ...refund,
    status: result.status,
    failureReason: result.failure_reason,
    updatedAt: new Date(result.updated_at),
  };
}
