/**
 * What Clearline asks of a card processor. Card data never enters the system: a payment
 * names a `source` token the processor knows.
 *
 * **Idempotency.** Every call carries `idempotencyKey`, our own id of the operation
 * (`processorIdempotencyKey`: `pay_…:authorize`, `pay_…:capture`, `pay_…:void`, `re_…`).
 * A real processor must dedupe on it (send it as the processor's idempotency key): a
 * call repeated with the same key, by a retry, a redelivery or a resumed operation,
 * returns the result of the first one and never charges, captures or refunds twice.
 * That is what makes it safe to call again when an answer was lost.
 *
 * **Unknown outcomes.** `ProcessorUnavailableError` means the outcome is unknown: the
 * processor may have applied the operation and the answer was lost. Callers retry with
 * the same key and, when they run out of retries, ask (`retrieve`) instead of guessing.
 *
 * `attempt` and `round` tell the processor which try a call is; a real processor ignores
 * them, the sandbox uses them to behave deterministically across processes.
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

  /**
   * What became of an operation we sent, looked up by our id (`reference.idempotencyKey`):
   * `not_found` when nothing reached the processor (the only answer that lets a caller
   * conclude the operation did not happen), or the outcome it applied. Throws
   * `ProcessorUnavailableError` when the processor cannot say either: still unknown.
   */
  retrieve(reference: ProcessorReference): Promise<RetrieveResult>;
}

/** The operations a processor applies; each has its own idempotency key. */
export const PROCESSOR_OPERATIONS = ['authorize', 'capture', 'void', 'refund'] as const;
export type ProcessorOperation = (typeof PROCESSOR_OPERATIONS)[number];

/**
 * Our id of an operation, sent as the processor's idempotency key: the payment's id
 * with the operation for a payment's steps, the refund's id for a refund.
 */
export function processorIdempotencyKey(operation: ProcessorOperation, id: string): string {
  return operation === 'refund' ? id : `${id}:${operation}`;
}

/** Fields of every call. */
export interface ProcessorCall {
  paymentId: string;
  source: string;
  /** Our id of the operation (`processorIdempotencyKey`); the processor dedupes on it. */
  idempotencyKey: string;
  /** 0 for the first try, then the task's retry count. */
  attempt: number;
  /** 0 for the operation's first task, n for its n-th resume by the sweeper. */
  round: number;
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

/**
 * An operation to look up: its idempotency key is what a real processor needs; the
 * rest (the call's fields as of its last try) lets the sandbox answer without state.
 */
export interface ProcessorReference extends ProcessorCall {
  operation: ProcessorOperation;
  /** The refund's id, for `operation: 'refund'`. */
  refundId?: string;
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

/** An operation the processor applied, with the answer it gave (or would have given). */
export type AppliedOperation =
  | { operation: 'authorize'; result: AuthorizeResult }
  | { operation: 'capture' }
  | { operation: 'void' }
  | { operation: 'refund'; result: RefundResult };

/** `retrieve`'s answer: nothing happened, or what was applied. */
export type RetrieveResult =
  { status: 'not_found' } | { status: 'applied'; applied: AppliedOperation };

/**
 * The processor could not be reached or did not answer in time: the outcome is unknown
 * and the same call may be tried again (tasks declare it in `retryOn`).
 */
export class ProcessorUnavailableError extends Error {
  override readonly name = 'ProcessorUnavailableError';
}
