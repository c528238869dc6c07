import type { ProcessRefundPayload, ProcessRefundResult } from '@clearline/contracts';
import type { RefundOutcome, RefundRequest } from './refund-processing.service';

/** The task payload (validated: `amount` is a string of digits) as the service takes it. */
export function refundRequestFromWire(payload: ProcessRefundPayload): RefundRequest {
  return {
    refundId: payload.refund_id,
    paymentId: payload.payment_id,
    merchantId: payload.merchant_id,
    amount: BigInt(payload.amount),
    currency: payload.currency,
    source: payload.source,
    round: payload.resume ?? 0,
  };
}

/** How a refund ended, as the task's result. */
export function processRefundResult(outcome: RefundOutcome): ProcessRefundResult {
  return {
    status: outcome.status,
    failure_reason: outcome.failureReason,
    processor_reference: outcome.processorRefundId,
  };
}
