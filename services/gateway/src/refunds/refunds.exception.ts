import { invalidRequest, resourceMissing, type HttpErrorShape } from '../http/api-error';
import type { TaskOutcome } from '@clearline/tasks';
import { DomainError } from '../common/domain-error';

/** Every way a refund request, or the recording of a refund's outcome, fails. */
export enum RefundRequestErrorCode {
  /** The payment to refund is none of the merchant's. */
  PaymentNotFound = 'payment_not_found',
  /** No refund of the merchant has this id (or an outcome names an unknown refund). */
  RefundNotFound = 'refund_not_found',
  /** Only a succeeded (captured) payment can be refunded. */
  PaymentNotCaptured = 'payment_not_captured',
  /** The payment has been refunded in full already. */
  PaymentRefunded = 'payment_refunded',
  /** More than is left to refund after succeeded and pending refunds. */
  AmountTooLarge = 'amount_too_large',
}

/** How each code answers over HTTP; exhaustive, so a new code must choose its answer. */
export function refundRequestErrorHttp(code: RefundRequestErrorCode): HttpErrorShape {
  switch (code) {
    case RefundRequestErrorCode.PaymentNotFound:
      return resourceMissing('payment');
    case RefundRequestErrorCode.RefundNotFound:
      return resourceMissing('id');
    case RefundRequestErrorCode.PaymentNotCaptured:
      return invalidRequest('payment_unexpected_state', 'payment');
    case RefundRequestErrorCode.PaymentRefunded:
      return invalidRequest('charge_already_refunded', 'payment');
    case RefundRequestErrorCode.AmountTooLarge:
      return invalidRequest('amount_too_large', 'amount');
    default: {
      const unknown: never = code;
      throw new Error(`no HTTP shape for refund request error code ${String(unknown)}`);
    }
  }
}

/**
 * What each code does to the outcome task (`gateway.refund_settled`), exhaustively. No
 * code is transient (a transient database error is retried by `isTransientDatabaseError`);
 * an outcome for a refund that does not exist is a fault, and the refusals of a request
 * are final answers.
 */
export function refundRequestTaskOutcome(code: RefundRequestErrorCode): TaskOutcome {
  switch (code) {
    case RefundRequestErrorCode.PaymentNotCaptured:
    case RefundRequestErrorCode.PaymentRefunded:
    case RefundRequestErrorCode.AmountTooLarge:
      return 'fail';
    case RefundRequestErrorCode.PaymentNotFound:
    case RefundRequestErrorCode.RefundNotFound:
      return 'dead-letter';
    default: {
      const unknown: never = code;
      throw new Error(`no task outcome for refund request error code ${String(unknown)}`);
    }
  }
}

/** A domain error of the gateway's refunds: `new RefundRequestError('…', RefundRequestErrorCode.X)`. */
export class RefundRequestError extends DomainError<RefundRequestErrorCode> {
  override readonly name = 'RefundRequestError';
}

/**
 * A refund request error whose code's outcome is `retry` (none today). With
 * `isTransientDatabaseError`, it is the outcome task's `retryOn`.
 */
export function isTransientRefundRequestError(error: unknown): boolean {
  return error instanceof RefundRequestError && refundRequestTaskOutcome(error.code) === 'retry';
}
