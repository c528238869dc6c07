import { IsInt, Matches, Max, Min } from 'class-validator';
import { isTransientDatabaseError } from '@clearline/persistence';
import { LedgerUnavailableError } from '@clearline/platform';
import { ProcessorUnavailableError } from '@clearline/processor';
import type { TaskHandlerOptions } from '@clearline/tasks';
import { PAYMENT_AMOUNT_MAX } from './payment.dto';
import { LedgerNotReadyError } from './payment-ledger';

/**
 * The gateway's payment tasks (queue `gateway`), sent through the outbox in the same
 * transaction as the change that asks for them.
 */
export const PAYMENT_TASK = {
  authorize: 'gateway.authorize_payment',
  capture: 'gateway.capture_payment',
  cancel: 'gateway.cancel_payment',
} as const;

export type PaymentOperation = keyof typeof PAYMENT_TASK;

/** One task per payment and operation, so its outcome can be awaited by anyone who knows the payment. */
export function paymentTaskId(paymentId: string, operation: PaymentOperation): string {
  return `${paymentId}:${operation}`;
}

/**
 * Transient failures (processor unreachable, ledger slow or not ready, a database
 * hiccup) are retried through the broker: 100 ms base, full jitter, 3 retries, so a
 * payment that needs them all is settled within about a second.
 */
export const PAYMENT_TASK_RETRY = {
  retryOn: [
    ProcessorUnavailableError,
    LedgerUnavailableError,
    LedgerNotReadyError,
    isTransientDatabaseError,
  ],
  retryCountMax: 3,
  retryBackoffMs: 100,
  retryBackoffMaxMs: 2_000,
} as const satisfies TaskHandlerOptions;

const PAYMENT_ID = /^pay_[A-Za-z0-9]{1,64}$/;

export class PaymentTaskPayload {
  @Matches(PAYMENT_ID)
  payment_id!: string;
}

export class CapturePaymentTaskPayload extends PaymentTaskPayload {
  @IsInt()
  @Min(1)
  @Max(PAYMENT_AMOUNT_MAX)
  amount_to_capture!: number;
}
