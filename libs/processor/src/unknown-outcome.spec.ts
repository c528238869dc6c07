import {
  ProcessorUnavailableError,
  type PaymentProcessor,
  type ProcessorReference,
  type RetrieveResult,
} from './payment-processor';
import { resolveUnknownOutcome, retrieveOutcome } from './unknown-outcome';

const reference: ProcessorReference = {
  operation: 'capture',
  paymentId: 'pay_1',
  source: 'tok_visa',
  idempotencyKey: 'pay_1:capture',
  attempt: 3,
  round: 0,
};

/** A processor whose `retrieve` answers (or throws) what a test says; nothing else is called. */
function answering(answer: () => Promise<RetrieveResult>): PaymentProcessor {
  const never = (): never => {
    throw new Error('not called');
  };
  return {
    name: 'fake',
    recognizesSource: () => true,
    authorize: never,
    capture: never,
    void: never,
    refund: never,
    retrieve: answer,
  };
}

describe('resolveUnknownOutcome', () => {
  it('allows a failure only when the processor says nothing happened', () => {
    expect(resolveUnknownOutcome({ retrieved: { status: 'not_found' } })).toEqual({
      kind: 'not_applied',
    });
  });

  it('goes on with what was applied', () => {
    const applied = {
      operation: 'authorize' as const,
      result: { status: 'approved' as const, authorizationId: 'a_1' },
    };
    expect(resolveUnknownOutcome({ retrieved: { status: 'applied', applied } })).toEqual({
      kind: 'applied',
      applied,
    });
  });

  it('keeps an unavailable processor unknown: never a failure', () => {
    const resolution = resolveUnknownOutcome({ error: new ProcessorUnavailableError('down') });
    expect(resolution).toEqual({ kind: 'unknown', reason: 'down' });
    expect(resolution.kind).not.toBe('not_applied');
  });

  it('throws any other error: a fault, not an answer', () => {
    expect(() => resolveUnknownOutcome({ error: new TypeError('bug') })).toThrow('bug');
  });
});

describe('retrieveOutcome', () => {
  it('asks the processor by our id and resolves its answer', async () => {
    const retrieve = jest.fn(() => Promise.resolve<RetrieveResult>({ status: 'not_found' }));
    await expect(retrieveOutcome(answering(retrieve), reference)).resolves.toEqual({
      kind: 'not_applied',
    });
    expect(retrieve).toHaveBeenCalledWith(reference);
  });

  it('is unknown when retrieve itself is unavailable', async () => {
    const processor = answering(() => Promise.reject(new ProcessorUnavailableError('still down')));
    await expect(retrieveOutcome(processor, reference)).resolves.toMatchObject({ kind: 'unknown' });
  });

  it('refuses an answer about another operation', async () => {
    const processor = answering(() =>
      Promise.resolve<RetrieveResult>({ status: 'applied', applied: { operation: 'void' } }),
    );
    await expect(retrieveOutcome(processor, reference)).rejects.toThrow(/void for capture/);
  });
});
