import { createPaymentProcessor } from './processor-factory';
import {
  processorIdempotencyKey,
  ProcessorUnavailableError,
  type AuthorizeRequest,
  type ProcessorOperation,
  type ProcessorReference,
} from './payment-processor';
import { SANDBOX_SLOW_DELAY_MS, SANDBOX_TOKENS, SandboxProcessor } from './sandbox-processor';

const request = (source: string, attempt = 0, round = 0): AuthorizeRequest => ({
  paymentId: 'pay_1',
  source,
  idempotencyKey: processorIdempotencyKey('authorize', 'pay_1'),
  amount: 1_000n,
  currency: 'usd',
  capture: true,
  attempt,
  round,
});

const reference = (
  source: string,
  operation: ProcessorOperation,
  attempt = 0,
  round = 0,
): ProcessorReference => ({
  paymentId: 'pay_1',
  source,
  operation,
  idempotencyKey: processorIdempotencyKey(operation, operation === 'refund' ? 're_1' : 'pay_1'),
  ...(operation === 'refund' ? { refundId: 're_1' } : {}),
  attempt,
  round,
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
    const refund = { ...request('tok_refundFail', 5), idempotencyKey: 're_1', refundId: 're_1' };
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
    const call = { paymentId: 'pay_1', amount: 500n, currency: 'usd', round: 0 };
    const key = { idempotencyKey: 'pay_1:void' };
    await expect(
      sandbox.capture({ ...call, idempotencyKey: 'pay_1:capture', source: 'tok_visa', attempt: 0 }),
    ).resolves.toBe(undefined);
    await expect(
      sandbox.void({ ...call, ...key, source: 'tok_processorUnavailable', attempt: 0 }),
    ).rejects.toBeInstanceOf(ProcessorUnavailableError);
    await expect(
      sandbox.void({ ...call, ...key, source: 'tok_processorUnavailable', attempt: 2 }),
    ).resolves.toBe(undefined);
  });

  it('loses the first answer of tok_answerLost after applying it; a retry and retrieve say applied', async () => {
    await expect(sandbox.authorize(request('tok_answerLost', 0))).rejects.toBeInstanceOf(
      ProcessorUnavailableError,
    );
    const approved = { status: 'approved', authorizationId: 'sandbox_auth_pay_1' };
    // The same key again: the result already applied, the same authorization.
    await expect(sandbox.authorize(request('tok_answerLost', 1))).resolves.toEqual(approved);
    await expect(sandbox.retrieve(reference('tok_answerLost', 'authorize'))).resolves.toEqual({
      status: 'applied',
      applied: { operation: 'authorize', result: approved },
    });
    const refund = { ...request('tok_answerLost'), idempotencyKey: 're_1', refundId: 're_1' };
    await expect(sandbox.refund(refund)).rejects.toBeInstanceOf(ProcessorUnavailableError);
    await expect(sandbox.refund({ ...refund, attempt: 1 })).resolves.toEqual({
      status: 'succeeded',
      processorRefundId: 'sandbox_re_re_1',
    });
    await expect(sandbox.retrieve(reference('tok_answerLost', 'refund'))).resolves.toEqual({
      status: 'applied',
      applied: {
        operation: 'refund',
        result: { status: 'succeeded', processorRefundId: 'sandbox_re_re_1' },
      },
    });
    for (const operation of ['capture', 'void'] as const) {
      await expect(sandbox.retrieve(reference('tok_answerLost', operation, 3))).resolves.toEqual({
        status: 'applied',
        applied: { operation },
      });
    }
  });

  it('retrieves not_found for tok_processorDown: nothing ever reached the processor', async () => {
    for (const operation of ['authorize', 'capture', 'void', 'refund'] as const) {
      await expect(sandbox.retrieve(reference('tok_processorDown', operation, 3))).resolves.toEqual(
        { status: 'not_found' },
      );
    }
  });

  it('retrieves tok_processorUnavailable as not_found before the attempt that works, applied from it', async () => {
    await expect(
      sandbox.retrieve(reference('tok_processorUnavailable', 'capture', 1)),
    ).resolves.toEqual({ status: 'not_found' });
    await expect(
      sandbox.retrieve(reference('tok_processorUnavailable', 'capture', 2)),
    ).resolves.toEqual({ status: 'applied', applied: { operation: 'capture' } });
  });

  it('keeps tok_processorOutage unreachable, calls and retrieve, for the first round only', async () => {
    for (const attempt of [0, 3, 10]) {
      await expect(
        sandbox.authorize(request('tok_processorOutage', attempt)),
      ).rejects.toBeInstanceOf(ProcessorUnavailableError);
      await expect(
        sandbox.retrieve(reference('tok_processorOutage', 'authorize', attempt)),
      ).rejects.toBeInstanceOf(ProcessorUnavailableError);
    }
    await expect(sandbox.authorize(request('tok_processorOutage', 0, 1))).resolves.toMatchObject({
      status: 'approved',
    });
    await expect(
      sandbox.retrieve(reference('tok_processorOutage', 'capture', 0, 1)),
    ).resolves.toEqual({ status: 'applied', applied: { operation: 'capture' } });
  });

  it('answers retrieve for a decline with the decline', async () => {
    await expect(
      sandbox.retrieve(reference('tok_chargeDeclined', 'authorize')),
    ).resolves.toMatchObject({
      status: 'applied',
      applied: { operation: 'authorize', result: { status: 'declined', code: 'card_declined' } },
    });
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
