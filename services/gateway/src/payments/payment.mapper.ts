import {
  PAYMENT_TASK_RESULT_VERSION,
  type PaymentStatus,
  type PaymentTaskResult,
} from '@clearline/contracts';
import { unixSeconds, type Plain } from '../http/wire';
import type { PaymentDto } from './payment.dto';
import type { Payment, PaymentState } from './payment.model';

/** Transitional states are `processing` to the merchant: the outcome is not known yet. */
export function publicStatus(state: PaymentState): PaymentStatus {
  return state === 'capturing' || state === 'canceling' ? 'processing' : state;
}

/** The REST payment object. Amounts are bounded by PAYMENT_AMOUNT_MAX, so exact as JSON numbers. */
export function toPaymentDto(payment: Payment): Plain<PaymentDto> {
  return {
    id: payment.id,
    object: 'payment',
    amount: Number(payment.amount),
    currency: payment.currency,
    status: publicStatus(payment.status),
    capture_method: payment.captureMethod,
    amount_capturable: Number(payment.amountCapturable),
    amount_captured: Number(payment.amountCaptured),
    amount_refunded: Number(payment.amountRefunded),
    source: payment.source,
    description: payment.description,
    metadata: payment.metadata,
    failure_code: payment.failureCode,
    failure_message: payment.failureMessage,
    processor_reference: payment.processorReference,
    created: unixSeconds(payment.createdAt),
  };
}

/** A payment task's result: the fields a task moves, as the payment stands. */
export function toPaymentTaskResult(payment: Payment): PaymentTaskResult {
  return {
    version: PAYMENT_TASK_RESULT_VERSION,
    payment_id: payment.id,
    status: publicStatus(payment.status),
    amount_capturable: payment.amountCapturable.toString(),
    amount_captured: payment.amountCaptured.toString(),
    failure_code: payment.failureCode,
    failure_message: payment.failureMessage,
    processor_reference: payment.processorReference,
    updated_at: payment.updatedAt.toISOString(),
  };
}

/**
 * The payment a request holds (as it wrote or claimed it) as its task's result leaves
 * it: the waiting request answers with this, without reading the payment again.
 */
export function withTaskResult(payment: Payment, result: PaymentTaskResult): Payment {
  return {
    ...payment,
    status: result.status,
    amountCapturable: BigInt(result.amount_capturable),
    amountCaptured: BigInt(result.amount_captured),
    failureCode: result.failure_code,
    failureMessage: result.failure_message,
    processorReference: result.processor_reference,
    updatedAt: new Date(result.updated_at),
  };
}
