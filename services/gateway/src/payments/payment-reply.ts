import { HttpStatus } from '@nestjs/common';
import { HttpReply } from '../http/http-reply';
import { PAYMENTS_URL } from './payment.dto';
import { toPaymentDto } from './payment.mapper';
import type { Payment } from './payment.model';
import { PaymentError, PaymentErrorCode } from './payments.exception';

/** A failed payment's `failure_code` as the code of its card error. */
function failureCode(failureCode: string | null): PaymentErrorCode {
  if (failureCode === 'card_declined') return PaymentErrorCode.CardDeclined;
  if (failureCode === 'insufficient_funds') return PaymentErrorCode.InsufficientFunds;
  return PaymentErrorCode.ProcessingError;
}

/**
 * The HTTP answer to a payment request, by where the payment stands when the wait ends:
 * `200` with the payment once it is settled (`succeeded`, `requires_capture`,
 * `canceled`); `202` with it while it is still `processing` (it completes anyway; poll
 * `GET /v1/payments/{id}` or take the webhook); and, as Stripe does, a `402` card error
 * when it failed, whose code is the payment's `failure_code` and which names the payment
 * (still retrievable, with status `failed`).
 */
export async function paymentReply(outcome: Promise<Payment>): Promise<HttpReply> {
  const payment = toPaymentDto(await outcome);
  if (payment.status === 'failed') {
    throw new PaymentError(
      `${payment.failure_message ?? 'The payment failed.'} (payment ${payment.id})`,
      failureCode(payment.failure_code),
      { paymentId: payment.id },
    );
  }
  if (payment.status === 'processing') {
    return new HttpReply(HttpStatus.ACCEPTED, payment, {
      Location: `${PAYMENTS_URL}/${payment.id}`,
    });
  }
  return new HttpReply(HttpStatus.OK, payment);
}
