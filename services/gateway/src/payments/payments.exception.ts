import {
  API_ERROR_SHAPE,
  invalidRequest,
  resourceMissing,
  type HttpErrorShape,
} from '../http/api-error';
import { DomainError } from '../common/domain-error';
import type { TaskOutcome } from '@clearline/tasks';

/** Every way a payment request or a payment task fails. */
export enum PaymentErrorCode {
  /** No payment of the merchant has this id (another merchant's answers the same). */
  NotFound = 'payment_not_found',
  /** `source` is no token of the configured processor. */
  SourceUnknown = 'source_unknown',
  /** The payment is not in a state that allows this (capture after cancel, say). */
  UnexpectedState = 'unexpected_state',
  /** `amount_to_capture` is more than the payment's `amount_capturable`. */
  AmountToCaptureTooLarge = 'amount_to_capture_too_large',
  /** The issuer declined the card: the payment failed (its `failure_code`). */
  CardDeclined = 'card_declined',
  /** The issuer declined for insufficient funds: the payment failed (its `failure_code`). */
  InsufficientFunds = 'insufficient_funds',
  /** The processor could not be reached after the retries: the payment failed. */
  ProcessingError = 'processing_error',
  /** The processor did not answer: the outcome of the call is unknown. */
  ProcessorUnavailable = 'processor_unavailable',
  /** The ledger did not answer in time, or its task failed: the transfers may still apply. */
  LedgerUnavailable = 'ledger_unavailable',
  /**
   * The merchant's accounts are not open yet (`ledger.open_merchant` is still on its way
   * for a brand-new merchant): nothing was applied, and a retry will likely succeed.
   */
  LedgerNotReady = 'ledger_not_ready',
  /**
   * The ledger's task failed (a fault of the ledger's; its dead letter says why): nothing
   * was applied, and asking again under the same task id reads the same failure.
   */
  LedgerTaskFailed = 'ledger_task_failed',
  /** The ledger refused the payment's transfers for good; nothing was applied. */
  LedgerRefused = 'ledger_refused',
}

/**
 * How each code answers over HTTP, exhaustively. A failed payment is answered as Stripe
 * does: 402 `card_error` whose code is its `failure_code`. The codes only a payment task
 * meets are faults if they ever reach a request: 500.
 */
export function paymentErrorHttp(code: PaymentErrorCode): HttpErrorShape {
  switch (code) {
    case PaymentErrorCode.NotFound:
      return resourceMissing('id');
    case PaymentErrorCode.SourceUnknown:
      return invalidRequest('parameter_invalid', 'source');
    case PaymentErrorCode.UnexpectedState:
      return invalidRequest('payment_unexpected_state', null);
    case PaymentErrorCode.AmountToCaptureTooLarge:
      return invalidRequest('amount_too_large', 'amount_to_capture');
    case PaymentErrorCode.CardDeclined:
      return {
        status: 402,
        type: 'card_error',
        code: 'card_declined',
        param: null,
        declineCode: 'generic_decline',
      };
    case PaymentErrorCode.InsufficientFunds:
      return {
        status: 402,
        type: 'card_error',
        code: 'insufficient_funds',
        param: null,
        declineCode: 'insufficient_funds',
      };
    case PaymentErrorCode.ProcessingError:
      return { status: 402, type: 'card_error', code: 'processing_error', param: null };
    case PaymentErrorCode.ProcessorUnavailable:
    case PaymentErrorCode.LedgerUnavailable:
    case PaymentErrorCode.LedgerNotReady:
    case PaymentErrorCode.LedgerTaskFailed:
    case PaymentErrorCode.LedgerRefused:
      return API_ERROR_SHAPE;
    default: {
      const unknown: never = code;
      throw new Error(`no HTTP shape for payment error code ${String(unknown)}`);
    }
  }
}

/**
 * What each code does to a payment task (`gateway.authorize_payment`, `capture_payment`,
 * `cancel_payment`), exhaustively. Only what is transient is retried: a processor or a
 * ledger that did not answer, accounts not open yet. A declined or failed payment is the
 * task's answer. A ledger refusal (after the payment is failed and its authorization
 * voided), a ledger task that failed and a task for a payment that does not exist are
 * faults.
 */
export function paymentTaskOutcome(code: PaymentErrorCode): TaskOutcome {
  switch (code) {
    case PaymentErrorCode.ProcessorUnavailable:
    case PaymentErrorCode.LedgerUnavailable:
    case PaymentErrorCode.LedgerNotReady:
      return 'retry';
    case PaymentErrorCode.SourceUnknown:
    case PaymentErrorCode.UnexpectedState:
    case PaymentErrorCode.AmountToCaptureTooLarge:
    case PaymentErrorCode.CardDeclined:
    case PaymentErrorCode.InsufficientFunds:
    case PaymentErrorCode.ProcessingError:
      return 'fail';
    case PaymentErrorCode.NotFound:
    case PaymentErrorCode.LedgerTaskFailed:
    case PaymentErrorCode.LedgerRefused:
      return 'dead-letter';
    default: {
      const unknown: never = code;
      throw new Error(`no task outcome for payment error code ${String(unknown)}`);
    }
  }
}

/** A domain error of payments: `new PaymentError('…', PaymentErrorCode.X)`. */
export class PaymentError extends DomainError<PaymentErrorCode> {
  override readonly name = 'PaymentError';
  /** The payment the error is about, when the answer names it (a card error's `payment`). */
  readonly paymentId: string | null;

  constructor(
    message: string,
    code: PaymentErrorCode,
    options: { paymentId?: string; cause?: unknown } = {},
  ) {
    super(message, code, options.cause === undefined ? undefined : { cause: options.cause });
    this.paymentId = options.paymentId ?? null;
  }

  static notFound(paymentId: string): PaymentError {
    return new PaymentError(`No such payment: '${paymentId}'`, PaymentErrorCode.NotFound);
  }
}

/**
 * A payment error whose code's outcome is `retry`. With `isTransientDatabaseError`, it is
 * the payment tasks' `retryOn`.
 */
export function isTransientPaymentError(error: unknown): boolean {
  return error instanceof PaymentError && paymentTaskOutcome(error.code) === 'retry';
}
