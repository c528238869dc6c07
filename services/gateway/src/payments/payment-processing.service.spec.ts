import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import {
  ProcessorUnavailableError,
  type PaymentProcessor,
  type RetrieveResult,
} from '@clearline/processor';
import type { PaymentLedger } from './payment-ledger';
import { PaymentProcessingService, type TaskRun } from './payment-processing.service';
import type { Payment, PaymentState } from './payment.model';
import type { PaymentWritesRepository, Settlement } from './payment-writes.repository';
import { PaymentError, PaymentErrorCode } from './payments.exception';
import type { PaymentsRepository } from './payments.repository';

/**
 * What a payment task decides when the processor's answer is lost: it retries while
 * retries are left, and on the last attempt asks (`retrieve`) instead of guessing:
 * applied goes on, "nothing happened" fails the payment, still unknown changes nothing.
 * The repositories, the ledger and the processor are fakes.
 */

const payment = (status: PaymentState): Payment => ({
  id: 'pay_1',
  merchantId: 'mer_1',
  amount: 2_000n,
  currency: 'usd',
  status,
  captureMethod: 'automatic',
  amountCapturable: 0n,
  amountCaptured: 0n,
  amountRefunded: 0n,
  source: 'tok_visa',
  description: null,
  metadata: {},
  failureCode: null,
  failureMessage: null,
  processorReference: null,
  createdAt: new Date(0),
  updatedAt: new Date(0),
});

const run = (last: boolean, round = 0): TaskRun => ({
  taskId: 'pay_1:authorize',
  attempt: last ? 3 : 0,
  round,
  willRetry: () => !last,
});

const lost = (): Promise<never> => Promise.reject(new ProcessorUnavailableError('no answer'));

function setUp(status: PaymentState, retrieve: () => Promise<RetrieveResult>) {
  const settlements: Settlement[] = [];
  const payments = { findByIdShared: jest.fn(() => Promise.resolve(payment(status))) };
  const writes = {
    settleOne: jest.fn((settlement: Settlement) => {
      settlements.push(settlement);
      return Promise.resolve(new Date(1_000));
    }),
  };
  const ledger = {
    authorize: jest.fn(() => Promise.resolve()),
    capture: jest.fn(() => Promise.resolve()),
    void: jest.fn(() => Promise.resolve()),
  };
  const processor = {
    authorize: jest.fn(lost),
    capture: jest.fn(lost),
    void: jest.fn(lost),
    retrieve: jest.fn(retrieve),
  };
  const service = new PaymentProcessingService(
    payments as unknown as PaymentsRepository,
    writes as unknown as PaymentWritesRepository,
    ledger as unknown as PaymentLedger,
    processor as unknown as PaymentProcessor,
  );
  return { service, settlements, ledger, processor };
}

describe('PaymentProcessingService: unknown outcomes', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  it('retries a lost answer while retries are left, without asking or changing anything', async () => {
    const { service, settlements, processor } = setUp('processing', () =>
      Promise.resolve({ status: 'not_found' }),
    );
    await expect(service.authorize('pay_1', run(false))).rejects.toMatchObject({
      code: PaymentErrorCode.ProcessorUnavailable,
    });
    expect(processor.retrieve).not.toHaveBeenCalled();
    expect(settlements).toEqual([]);
  });

  it('calls the processor with our id as the idempotency key, and the round', async () => {
    const { service, processor } = setUp('processing', () =>
      Promise.resolve({ status: 'not_found' }),
    );
    await expect(service.authorize('pay_1', run(false, 2))).rejects.toThrow();
    expect(processor.authorize).toHaveBeenCalledWith(
      expect.objectContaining({ idempotencyKey: 'pay_1:authorize', round: 2, attempt: 0 }),
    );
  });

  it('fails the payment on the last attempt only when the processor says nothing happened', async () => {
    const { service, settlements, processor, ledger } = setUp('processing', () =>
      Promise.resolve({ status: 'not_found' }),
    );
    await expect(service.authorize('pay_1', run(true))).rejects.toMatchObject({
      code: PaymentErrorCode.ProcessorUnavailable,
    });
    expect(processor.retrieve).toHaveBeenCalledWith(
      expect.objectContaining({ operation: 'authorize', idempotencyKey: 'pay_1:authorize' }),
    );
    expect(settlements.map((s) => [s.from, s.change.status, s.change.failureCode])).toEqual([
      ['processing', 'failed', 'processing_error'],
    ]);
    expect(ledger.authorize).not.toHaveBeenCalled();
  });

  it('leaves the payment processing when the outcome stays unknown: never failed', async () => {
    const { service, settlements, ledger } = setUp('processing', () =>
      Promise.reject(new ProcessorUnavailableError('still down')),
    );
    await expect(service.authorize('pay_1', run(true))).rejects.toMatchObject({
      code: PaymentErrorCode.ProcessorUnavailable,
    });
    expect(settlements).toEqual([]);
    expect(ledger.authorize).not.toHaveBeenCalled();
  });

  it('goes on with an authorization the processor applied: the ledger and succeeded', async () => {
    const { service, settlements, ledger } = setUp('processing', () =>
      Promise.resolve({
        status: 'applied',
        applied: {
          operation: 'authorize',
          result: { status: 'approved', authorizationId: 'sandbox_auth_pay_1' },
        },
      }),
    );
    await expect(service.authorize('pay_1', run(true))).resolves.toMatchObject({
      status: 'succeeded',
      amountCaptured: 2_000n,
    });
    expect(ledger.authorize).toHaveBeenCalledTimes(1);
    // The recovered authorization's id is kept, in the statement that records the outcome.
    expect(settlements.map((s) => [s.change.status, s.change.processorReference])).toEqual([
      ['succeeded', 'sandbox_auth_pay_1'],
    ]);
  });

  it('keeps the authorization id of an answered approval, for a manual capture too', async () => {
    const { service, settlements, processor } = setUp('processing', () =>
      Promise.resolve({ status: 'not_found' }),
    );
    processor.authorize.mockImplementation(() =>
      Promise.resolve({ status: 'approved', authorizationId: 'auth_42' } as never),
    );
    await expect(service.authorize('pay_1', run(false))).resolves.toMatchObject({
      status: 'succeeded',
      processorReference: 'auth_42',
    });
    expect(settlements[0]?.change.processorReference).toBe('auth_42');
    expect(settlements[0]?.eventObject).toMatchObject({ processor_reference: 'auth_42' });
  });

  it('keeps the reference of an authorization the ledger refused, voided and failed', async () => {
    const { service, settlements, processor, ledger } = setUp('processing', () =>
      Promise.resolve({ status: 'not_found' }),
    );
    processor.authorize.mockImplementation(() =>
      Promise.resolve({ status: 'approved', authorizationId: 'auth_43' } as never),
    );
    processor.void.mockImplementation(() => Promise.resolve(undefined as never));
    ledger.authorize.mockImplementation(() =>
      Promise.reject(new PaymentError('refused', PaymentErrorCode.LedgerRefused)),
    );
    await expect(service.authorize('pay_1', run(false))).rejects.toMatchObject({
      code: PaymentErrorCode.LedgerRefused,
    });
    expect(settlements.map((s) => [s.change.status, s.change.processorReference])).toEqual([
      ['failed', 'auth_43'],
    ]);
  });

  it('fails with the decline the processor applied', async () => {
    const { service, settlements } = setUp('processing', () =>
      Promise.resolve({
        status: 'applied',
        applied: {
          operation: 'authorize',
          result: { status: 'declined', code: 'card_declined', message: 'Declined.' },
        },
      }),
    );
    await expect(service.authorize('pay_1', run(true))).resolves.toMatchObject({
      status: 'failed',
      failureCode: 'card_declined',
      processorReference: null,
    });
    expect(settlements).toHaveLength(1);
    expect(settlements[0]?.change.processorReference).toBeUndefined();
  });

  it('keeps a capture capturing when the processor says nothing happened (the sweeper resumes it)', async () => {
    const { service, settlements, ledger } = setUp('capturing', () =>
      Promise.resolve({ status: 'not_found' }),
    );
    await expect(service.capture('pay_1', 1_500, run(true))).rejects.toMatchObject({
      code: PaymentErrorCode.ProcessorUnavailable,
    });
    expect(settlements).toEqual([]);
    expect(ledger.capture).not.toHaveBeenCalled();
  });

  it('posts a capture the processor applied, and voids a void it applied', async () => {
    const captured = setUp('capturing', () =>
      Promise.resolve({ status: 'applied', applied: { operation: 'capture' } }),
    );
    await expect(captured.service.capture('pay_1', 1_500, run(true))).resolves.toMatchObject({
      status: 'succeeded',
      amountCaptured: 1_500n,
    });
    expect(captured.ledger.capture).toHaveBeenCalledWith(
      expect.anything(),
      1_500n,
      expect.objectContaining({ attempt: 3, round: 0 }),
    );
    const voided = setUp('canceling', () =>
      Promise.resolve({ status: 'applied', applied: { operation: 'void' } }),
    );
    await expect(voided.service.cancel('pay_1', run(true))).resolves.toMatchObject({
      status: 'canceled',
    });
    expect(voided.processor.void).toHaveBeenCalledWith(
      expect.objectContaining({ idempotencyKey: 'pay_1:void' }),
    );
    expect(voided.ledger.void).toHaveBeenCalledTimes(1);
  });
});
