import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';

/**
 * The gateway's payment tasks (queue `gateway`): the gateway sends them through its
 * outbox, in the transaction of the change that asks for them, and runs them itself.
 * Their name, payload and result are one contract: a message outlives the process that
 * sent it (a retry, a dead letter an operator replays after a deploy), and the request
 * that waits for a result may run another version of the gateway than the worker.
 */
export const PAYMENT_TASK = {
  authorize: 'gateway.authorize_payment',
  capture: 'gateway.capture_payment',
  cancel: 'gateway.cancel_payment',
} as const;

export type PaymentOperation = keyof typeof PAYMENT_TASK;

/**
 * The longest processor reference (an authorization's or a refund's id at the processor)
 * a message may carry; the sandbox's are about 40 characters.
 */
export const PROCESSOR_REFERENCE_LENGTH_MAX = 255;

/** The largest amount of one payment, in minor units (Stripe's: 999,999.99 in a 2-decimal currency). */
export const PAYMENT_AMOUNT_MAX = 99_999_999;

/**
 * One task per payment and operation (`pay_…:authorize`), so its outcome can be awaited,
 * and looked up by an operator, by anyone who knows the payment.
 */
export function paymentTaskId(paymentId: string, operation: PaymentOperation): string {
  return `${paymentId}:${operation}`;
}

const PAYMENT_ID = /^pay_[A-Za-z0-9]{1,64}$/;

/** The most times the gateway's sweeper resumes one operation (`resume` of a task payload). */
export const OPERATION_RESUMES_MAX = 10;

/**
 * A resumed operation's task id: `pay_…:capture:resume:2`, `re_…:process:resume:1`. Each
 * resume round is a new task (the inbox would swallow the old id), still derived from
 * the object, so an operator can look it up.
 */
export function resumedTaskId(taskId: string, resume: number): string {
  return `${taskId}:resume:${resume}`;
}

/** `gateway.authorize_payment` and `gateway.cancel_payment`: the payment to work on. */
export class PaymentTaskPayload {
  @Matches(PAYMENT_ID)
  payment_id!: string;

  /**
   * Absent for the operation's first task; n when the gateway's sweeper resumes it for
   * the n-th time (the processor is told the round; the ledger steps get fresh ids).
   */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(OPERATION_RESUMES_MAX)
  resume?: number;
}

/** `gateway.capture_payment`: the payment, and how much of its authorization to capture. */
export class CapturePaymentTaskPayload extends PaymentTaskPayload {
  @IsInt()
  @Min(1)
  @Max(PAYMENT_AMOUNT_MAX)
  amount_to_capture!: number;
}

/** A payment's status as the API shows it and the payment tasks report it. */
export const PAYMENT_STATUSES = [
  'processing',
  'requires_capture',
  'succeeded',
  'canceled',
  'failed',
] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/**
 * The version of {@link PaymentTaskResult} this code writes and reads. Added fields keep
 * the version (a reader ignores what it does not know); a change a reader of the
 * previous version would misread takes a new one.
 */
export const PAYMENT_TASK_RESULT_VERSION = 1;

/**
 * The result of a payment task: what the task changed on the payment (the fields that
 * move), as the payment stood when the task ended. A redelivered task that finds the
 * payment moved on already reports it as it is. Amounts are minor units as strings of
 * digits; `updated_at` is ISO 8601.
 */
export interface PaymentTaskResult {
  version: typeof PAYMENT_TASK_RESULT_VERSION;
  payment_id: string;
  status: PaymentStatus;
  amount_capturable: string;
  amount_captured: string;
  /** `card_declined`, `insufficient_funds` or `processing_error` when failed; else null. */
  failure_code: string | null;
  failure_message: string | null;
  /**
   * The processor's id of the authorization (`authorizationId`), once it approved; null
   * before and for a decline. A result without it (an older writer) is read as the
   * payment instead.
   */
  processor_reference: string | null;
  updated_at: string;
}

const DIGITS = /^\d{1,19}$/;

const isTextOrNull = (value: unknown): boolean => value === null || typeof value === 'string';

/**
 * Whether `value` is a {@link PaymentTaskResult} of this version for `paymentId`. A
 * reader that gets anything else (a result of another version, of another task) reads
 * the payment instead.
 */
export function isPaymentTaskResult(value: unknown, paymentId: string): value is PaymentTaskResult {
  if (typeof value !== 'object' || value === null) return false;
  const result = value as Record<string, unknown>;
  return (
    result['version'] === PAYMENT_TASK_RESULT_VERSION &&
    result['payment_id'] === paymentId &&
    (PAYMENT_STATUSES as readonly unknown[]).includes(result['status']) &&
    typeof result['amount_capturable'] === 'string' &&
    DIGITS.test(result['amount_capturable']) &&
    typeof result['amount_captured'] === 'string' &&
    DIGITS.test(result['amount_captured']) &&
    isTextOrNull(result['failure_code']) &&
    isTextOrNull(result['failure_message']) &&
    isTextOrNull(result['processor_reference']) &&
    typeof result['updated_at'] === 'string'
  );
}
