import { createPaymentProcessor } from './processor-factory';
import { ProcessorUnavailableError, type AuthorizeRequest } from './payment-processor';
import { SANDBOX_SLOW_DELAY_MS, SANDBOX_TOKENS, SandboxProcessor } from './sandbox-processor';

const request = (source: string, attempt = 0): AuthorizeRequest => ({
  paymentId: 'pay_1',
  source,
  amount: 1_000n,
  currency: 'usd',
  capture: true,
  attempt,
});

describe('SandboxProcessor', () => {
  const sandbox = new SandboxProcessor({ slowDelayMs: 30 });

  it('approves tok_visa and tok_mastercard', async () => {
    for (const source of [SANDBOX_TOKENS.visa, SANDBOX_TOKENS.mastercard]) {
      await expect(sandbox.authorize(request(source))).resolves.toEqual({
        status: 'approved',
        authorizationId: 'sandbox_auth_pay_1',
      });
    }
  });

  it('declines with card_declined and insufficient_funds', async () => {
    await expect(sandbox.authorize(request('tok_chargeDeclined'))).resolves.toMatchObject({
      status: 'declined',
      code: 'card_declined',
    });
    await expect(
      sandbox.authorize(request('tok_chargeDeclinedInsufficientFunds')),
    ).resolves.toMatchObject({ status: 'declined', code: 'insufficient_funds' });
  });

  it('fails tok_processorUnavailable transiently on attempts 0 and 1, then approves', async () => {
    for (const attempt of [0, 1]) {
      await expect(
        sandbox.authorize(request('tok_processorUnavailable', attempt)),
      ).rejects.toBeInstanceOf(ProcessorUnavailableError);
    }
    for (const attempt of [2, 3]) {
      await expect(
        sandbox.authorize(request('tok_processorUnavailable', attempt)),
      ).resolves.toMatchObject({ status: 'approved' });
    }
  });

  it('always fails tok_processorDown transiently', async () => {
    for (const attempt of [0, 1, 2, 3, 10]) {
      await expect(sandbox.authorize(request('tok_processorDown', attempt))).rejects.toBeInstanceOf(
        ProcessorUnavailableError,
      );
    }
  });

  it('answers tok_slow after its delay (2 s by default)', async () => {
    const started = performance.now();
    await expect(sandbox.authorize(request('tok_slow'))).resolves.toMatchObject({
      status: 'approved',
    });
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(SANDBOX_SLOW_DELAY_MS).toBe(2_000);
  });

  it('approves tok_refundFail but refuses its refunds for good, with a reason', async () => {
    await expect(sandbox.authorize(request('tok_refundFail'))).resolves.toMatchObject({
      status: 'approved',
    });
    const refund = { ...request('tok_refundFail', 5), refundId: 're_1' };
    await expect(sandbox.refund(refund)).resolves.toEqual({
      status: 'failed',
      failureReason: 'expired_or_canceled_card',
      message: expect.any(String) as unknown,
    });
    await expect(sandbox.refund({ ...refund, source: 'tok_visa' })).resolves.toEqual({
      status: 'succeeded',
      processorRefundId: 'sandbox_re_re_1',
    });
  });

  it('captures and voids, with the same transient behaviour per token', async () => {
    const call = { paymentId: 'pay_1', amount: 500n, currency: 'usd' };
    await expect(sandbox.capture({ ...call, source: 'tok_visa', attempt: 0 })).resolves.toBe(
      undefined,
    );
    await expect(
      sandbox.void({ paymentId: 'pay_1', source: 'tok_processorUnavailable', attempt: 0 }),
    ).rejects.toBeInstanceOf(ProcessorUnavailableError);
    await expect(
      sandbox.void({ paymentId: 'pay_1', source: 'tok_processorUnavailable', attempt: 2 }),
    ).resolves.toBe(undefined);
  });

  it('recognizes its tokens only, and refuses to act on others', async () => {
    expect(Object.values(SANDBOX_TOKENS).every((t) => sandbox.recognizesSource(t))).toBe(true);
    for (const source of ['tok_unknown', 'tok_VISA', '4242424242424242', '']) {
      expect(sandbox.recognizesSource(source)).toBe(false);
    }
    await expect(sandbox.authorize(request('tok_unknown'))).rejects.toThrow(/unknown/);
  });

  it('is what PAYMENT_PROCESSOR=sandbox configures', () => {
    const configured = createPaymentProcessor('sandbox');
    expect(configured).toBeInstanceOf(SandboxProcessor);
    expect(configured.name).toBe('sandbox');
  });
});
