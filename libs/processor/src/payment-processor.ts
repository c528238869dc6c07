/**
 * What Clearline asks of a card processor. Card data never enters the system: a payment
 * names a `source` token the processor knows. Every call carries the `attempt` (the
 * task's retry count), so a processor that fails transiently does so deterministically
 * across processes, and a real implementation can derive its idempotency key from the
 * payment or refund id: calling again for the same id must not charge twice.
 */
export interface PaymentProcessor {
  /** The configured name (`PAYMENT_PROCESSOR`). */
  readonly name: string;

  /** Whether `source` names a payment method this processor knows (unknown ones are refused up front). */
  recognizesSource(source: string): boolean;

  /**
   * Authorizes the amount on the source and, with `capture`, captures it in the same
   * call (a sale). Throws `ProcessorUnavailableError` when the outcome is unknown and
   * the call may be retried; a decline is an answer, not an error.
   */
  authorize(request: AuthorizeRequest): Promise<AuthorizeResult>;

  /** Captures (part of) an earlier authorization; the rest is released. */
  capture(request: CaptureRequest): Promise<void>;

  /** Releases an authorization that will not be captured. */
  void(request: VoidRequest): Promise<void>;

  /** Returns captured money to the source; a refusal is an answer with a failure reason. */
  refund(request: RefundRequest): Promise<RefundResult>;
}

/** Fields of every call. */
export interface ProcessorCall {
  paymentId: string;
  source: string;
  /** 0 for the first try, then the task's retry count. */
  attempt: number;
}

export interface AuthorizeRequest extends ProcessorCall {
  /** Minor units of `currency`; positive. */
  amount: bigint;
  /** ISO 4217, lower case. */
  currency: string;
  /** Capture at once (automatic capture) rather than only authorize. */
  capture: boolean;
}

export interface CaptureRequest extends ProcessorCall {
  amount: bigint;
  currency: string;
}

export type VoidRequest = ProcessorCall;

export interface RefundRequest extends ProcessorCall {
  refundId: string;
  amount: bigint;
  currency: string;
}

/** Why an issuer declined (the payment's `failure_code`). */
export type DeclineCode = 'card_declined' | 'insufficient_funds';

export type AuthorizeResult =
  | { status: 'approved'; authorizationId: string }
  | { status: 'declined'; code: DeclineCode; message: string };

/** Stripe's refund failure reasons. */
export type RefundFailureReason =
  'expired_or_canceled_card' | 'lost_or_stolen_card' | 'declined' | 'unknown';

export type RefundResult =
  | { status: 'succeeded'; processorRefundId: string }
  | { status: 'failed'; failureReason: RefundFailureReason; message: string };

/**
 * The processor could not be reached or did not answer in time: the outcome is unknown
 * and the same call may be tried again (tasks declare it in `retryOn`).
 */
export class ProcessorUnavailableError extends Error {
  override readonly name = 'ProcessorUnavailableError';
}
