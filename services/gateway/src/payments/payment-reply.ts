import { HttpStatus } from '@nestjs/common';
import { GatewayError, GatewayErrorCode, type DeclineCode } from '../http/gateway.exception';
import { HttpReply } from '../http/http-reply';
import type { Plain } from '../http/wire';
import type { PaymentDto } from './payment.dto';
import { PAYMENTS_URL } from './payments.service';

/**
 * A failed payment's `failure_code` as the error code of the 402 answer and, for an
 * issuer's decline, Stripe's `decline_code` (none for a processor that failed).
 */
function failureError(failureCode: string | null): [GatewayErrorCode, DeclineCode | null] {
  if (failureCode === 'card_declined') return [GatewayErrorCode.CardDeclined, 'generic_decline'];
  if (failureCode === 'insufficient_funds') {
    return [GatewayErrorCode.InsufficientFunds, 'insufficient_funds'];
  }
  return [GatewayErrorCode.ProcessingError, null];
}

/**
 * The HTTP answer to a payment request, by where the payment stands when the wait ends:
 * `200` with the payment once it is settled (`succeeded`, `requires_capture`,
 * `canceled`); `202` with it while it is still `processing` (it completes anyway; poll
 * `GET /v1/payments/{id}` or take the webhook); and, as Stripe does, a `402` card error
 * when it failed, whose code is the payment's `failure_code`, whose `payment` field names
 * the payment (still retrievable, with status `failed`) and whose `decline_code` says
 * why an issuer declined.
 */
export async function paymentReply(outcome: Promise<Plain<PaymentDto>>): Promise<HttpReply> {
  const payment = await outcome;
  if (payment.status === 'failed') {
    const [code, declineCode] = failureError(payment.failure_code);
    throw new GatewayError(
      `${payment.failure_message ?? 'The payment failed.'} (payment ${payment.id})`,
      code,
      null,
      null,
      declineCode === null
        ? { payment: payment.id }
        : { payment: payment.id, decline_code: declineCode },
    );
  }
  if (payment.status === 'processing') {
    return new HttpReply(HttpStatus.ACCEPTED, payment, {
      Location: `${PAYMENTS_URL}/${payment.id}`,
    });
  }
  return new HttpReply(HttpStatus.OK, payment);
}
