import { GatewayError } from '../http/gateway.exception';
import { HttpReply } from '../http/http-reply';
import type { Plain } from '../http/wire';
import type { PaymentDto } from './payment.dto';
import { applyChange, publicStatus, toPaymentDto } from './payment.mapper';
import type { PaymentRow } from './payment.rows';
import { paymentReply } from './payment-reply';

const row: PaymentRow = {
  id: 'pay_1',
  merchant_id: 'mer_1',
  amount: '5000',
  currency: 'usd',
  status: 'processing',
  capture_method: 'manual',
  amount_capturable: '0',
  amount_captured: '0',
  amount_refunded: '0',
  source: 'tok_visa',
  description: null,
  metadata: { order: '7' },
  failure_code: null,
  failure_message: null,
  created_at: new Date('2026-01-02T03:04:05.678Z'),
};

const payment = (fields: Partial<Plain<PaymentDto>>): Plain<PaymentDto> => ({
  ...toPaymentDto(row),
  ...fields,
});

describe('payment object', () => {
  it('is the Stripe-like object, with integer amounts and Unix seconds', () => {
    expect(toPaymentDto(row)).toEqual({
      id: 'pay_1',
      object: 'payment',
      amount: 5000,
      currency: 'usd',
      status: 'processing',
      capture_method: 'manual',
      amount_capturable: 0,
      amount_captured: 0,
      amount_refunded: 0,
      source: 'tok_visa',
      description: null,
      metadata: { order: '7' },
      failure_code: null,
      failure_message: null,
      created: 1767323045,
    });
  });

  it('shows transitional states as processing', () => {
    expect(publicStatus('capturing')).toBe('processing');
    expect(publicStatus('canceling')).toBe('processing');
    expect(publicStatus('requires_capture')).toBe('requires_capture');
  });

  it('applies a status change as the database will', () => {
    const authorized = applyChange(row, { status: 'requires_capture', amountCapturable: 5000n });
    expect(toPaymentDto(authorized)).toMatchObject({
      status: 'requires_capture',
      amount_capturable: 5000,
      amount_captured: 0,
    });
    const failed = applyChange(row, {
      status: 'failed',
      failureCode: 'card_declined',
      failureMessage: 'no',
    });
    expect(failed).toMatchObject({ failure_code: 'card_declined', failure_message: 'no' });
  });
});

describe('paymentReply', () => {
  it('answers 200 for a settled payment and 202 for one still processing', async () => {
    const settled = await paymentReply(Promise.resolve(payment({ status: 'succeeded' })));
    expect(settled).toEqual(new HttpReply(200, payment({ status: 'succeeded' })));
    const pending = await paymentReply(Promise.resolve(payment({})));
    expect(pending.status).toBe(202);
    expect(pending.headers).toEqual({ Location: '/v1/payments/pay_1' });
  });

  it('answers a failed payment with a 402 card error whose code is its failure_code', async () => {
    for (const [failureCode, code, fields] of [
      ['card_declined', 'card_declined', { payment: 'pay_1', decline_code: 'generic_decline' }],
      [
        'insufficient_funds',
        'insufficient_funds',
        { payment: 'pay_1', decline_code: 'insufficient_funds' },
      ],
      ['processing_error', 'processing_error', { payment: 'pay_1' }],
    ] as const) {
      const failed = payment({
        status: 'failed',
        failure_code: failureCode,
        failure_message: 'Declined.',
      });
      const error = await paymentReply(Promise.resolve(failed)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GatewayError);
      expect(error).toMatchObject({ code, message: 'Declined. (payment pay_1)', param: null });
      expect((error as GatewayError).fields).toEqual(fields);
    }
  });
});
