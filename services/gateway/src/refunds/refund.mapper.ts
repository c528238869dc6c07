import {
  REFUND_SETTLED_RESULT_VERSION,
  type RefundSettledPayload,
  type RefundSettledResult,
} from '@clearline/contracts';
import { unixSeconds, type Plain } from '../http/wire';
import type { RefundDto } from './refund.dto';
import type { Refund, RefundEnd } from './refund.model';

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
    processor_reference: refund.processorReference,
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
    processor_reference: refund.processorReference,
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
    processorReference: result.processor_reference,
    updatedAt: new Date(result.updated_at),
  };
}

/**
 * The outcome as the refund is to record it: a failure's reason, a success's processor
 * reference (an outcome from a refund service that predates references has none).
 */
export function refundEndFromWire(outcome: RefundSettledPayload): RefundEnd {
  return outcome.status === 'failed'
    ? {
        status: 'failed',
        failureReason: outcome.failure_reason ?? 'unknown',
        processorReference: null,
      }
    : {
        status: 'succeeded',
        failureReason: null,
        processorReference: outcome.processor_reference ?? null,
      };
}
