import { isPaymentTaskResult } from '@clearline/contracts';
import { HttpReply } from '../http/http-reply';
import { publicStatus, toPaymentDto, toPaymentTaskResult, withTaskResult } from './payment.mapper';
import { applyChange, type Payment } from './payment.model';
import { paymentReply } from './payment-reply';
import { PaymentError } from './payments.exception';

const created = new Date('2026-01-02T03:04:05.678Z');
const payment: Payment = {
  id: 'pay_1',
  merchantId: 'mer_1',
  amount: 5000n,
  currency: 'usd',
  status: 'processing',
  captureMethod: 'manual',
  amountCapturable: 0n,
  amountCaptured: 0n,
  amountRefunded: 0n,
  source: 'tok_visa',
  description: null,
  metadata: { order: '7' },
  failureCode: null,
  failureMessage: null,
  processorReference: null,
  createdAt: created,
  updatedAt: created,
};

describe('payment object', () => {
  it('is the Stripe-like object, with integer amounts and Unix seconds', () => {
    expect(toPaymentDto(payment)).toEqual({
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
      processor_reference: null,
      created: 1767323045,
    });
  });

  it('shows transitional states as processing', () => {
    expect(publicStatus('capturing')).toBe('processing');
    expect(publicStatus('canceling')).toBe('processing');
    expect(publicStatus('requires_capture')).toBe('requires_capture');
  });

  it('applies a status change as the database will', () => {
    const at = new Date('2026-01-02T03:04:06Z');
    const authorized = applyChange(
      payment,
      { status: 'requires_capture', amountCapturable: 5000n },
      at,
    );
    expect(toPaymentDto(authorized)).toMatchObject({
      status: 'requires_capture',
      amount_capturable: 5000,
      amount_captured: 0,
    });
    expect(authorized.updatedAt).toBe(at);
    const failed = applyChange(
      payment,
      { status: 'failed', failureCode: 'card_declined', failureMessage: 'no' },
      at,
    );
    expect(failed).toMatchObject({ failureCode: 'card_declined', failureMessage: 'no' });
  });

  it('writes the processor reference of an approval; a later change without one keeps it', () => {
    const at = new Date('2026-01-02T03:04:06Z');
    const authorized = applyChange(
      payment,
      { status: 'requires_capture', amountCapturable: 5000n, processorReference: 'auth_1' },
      at,
    );
    expect(toPaymentDto(authorized).processor_reference).toBe('auth_1');
    const captured = applyChange(authorized, { status: 'succeeded', amountCaptured: 5000n }, at);
    expect(toPaymentDto(captured).processor_reference).toBe('auth_1');
  });
});

describe('payment task result', () => {
  const settled = applyChange(
    payment,
    {
      status: 'succeeded',
      amountCaptured: 4000n,
      amountCapturable: 0n,
      processorReference: 'sandbox_auth_pay_1',
    },
    new Date('2026-01-02T03:04:07.123Z'),
  );

  it('carries what a task changes, amounts as strings of digits, versioned', () => {
    expect(toPaymentTaskResult(settled)).toEqual({
      version: 1,
      payment_id: 'pay_1',
      status: 'succeeded',
      amount_capturable: '0',
      amount_captured: '4000',
      failure_code: null,
      failure_message: null,
      processor_reference: 'sandbox_auth_pay_1',
      updated_at: '2026-01-02T03:04:07.123Z',
    });
    expect(toPaymentTaskResult({ ...settled, status: 'canceling' }).status).toBe('processing');
  });

  it('with the payment a request holds, gives the payment object the task left', () => {
    const result = toPaymentTaskResult(settled);
    expect(isPaymentTaskResult(result, 'pay_1')).toBe(true);
    expect(toPaymentDto(withTaskResult(payment, result))).toEqual(toPaymentDto(settled));
    expect(toPaymentDto(withTaskResult(payment, result)).processor_reference).toBe(
      'sandbox_auth_pay_1',
    );
  });

  it('is recognised only for its payment and its version', () => {
    const result = toPaymentTaskResult(settled);
    expect(isPaymentTaskResult(result, 'pay_2')).toBe(false);
    expect(isPaymentTaskResult({ ...result, version: 2 }, 'pay_1')).toBe(false);
    expect(isPaymentTaskResult({ ...result, amount_captured: 4000 }, 'pay_1')).toBe(false);
    // A result without the reference (an older writer): the waiter reads the payment.
    const { processor_reference: _reference, ...older } = result;
    expect(isPaymentTaskResult(older, 'pay_1')).toBe(false);
    expect(isPaymentTaskResult({ ...result, processor_reference: 7 }, 'pay_1')).toBe(false);
    expect(isPaymentTaskResult(toPaymentDto(settled), 'pay_1')).toBe(false);
    expect(isPaymentTaskResult(null, 'pay_1')).toBe(false);
  });
});

describe('paymentReply', () => {
  it('answers 200 for a settled payment and 202 for one still processing', async () => {
    const succeeded: Payment = { ...payment, status: 'succeeded' };
    const settled = await paymentReply(Promise.resolve(succeeded));
    expect(settled).toEqual(new HttpReply(200, toPaymentDto(succeeded)));
    const pending = await paymentReply(Promise.resolve({ ...payment, status: 'capturing' }));
    expect(pending.status).toBe(202);
    expect(pending.body).toMatchObject({ status: 'processing' });
    expect(pending.headers).toEqual({ Location: '/v1/payments/pay_1' });
  });

  it('answers a failed payment with a card error whose code is its failure_code', async () => {
    for (const code of ['card_declined', 'insufficient_funds', 'processing_error'] as const) {
      const failed: Payment = {
        ...payment,
        status: 'failed',
        failureCode: code,
        failureMessage: 'Declined.',
      };
      const error = await paymentReply(Promise.resolve(failed)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PaymentError);
      expect(error).toMatchObject({
        code,
        message: 'Declined. (payment pay_1)',
        paymentId: 'pay_1',
      });
    }
  });
});
