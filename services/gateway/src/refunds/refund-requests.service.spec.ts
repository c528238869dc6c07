import 'reflect-metadata';
import type { ConfigService } from '@nestjs/config';
import type { CommittedOutbox } from '@clearline/tasks';
import type { DataSource } from 'typeorm';
import type { GatewayEnvironment } from '../gateway.env';
import type { RefundablePayment } from '../payments/payment.model';
import type { PaymentsRepository } from '../payments/payments.repository';
import type { Refund } from './refund.model';
import { RefundRequestsService } from './refund-requests.service';
import type { RefundWaiter } from './refund-waiter';
import type { RefundOpening, RefundsRepository } from './refunds.repository';

/**
 * How a refund is opened: from the payment as read, in a shared statement that reserves
 * the amount only if the payment still covers it; a refund that lost that race twice is
 * decided again under the payment's row lock. And how its outcome is applied: once, from
 * the refund as read; a redelivered outcome, or one another delivery applied meanwhile,
 * answers the refund as it is. The repositories are fakes: the statements
 * themselves are tested against PostgreSQL (`test/refund-statements.int-spec.ts`).
 */

const PAYMENT: RefundablePayment = {
  id: 'pay_1',
  merchantId: 'mer_1',
  amount: 1_000n,
  currency: 'usd',
  status: 'succeeded',
  captureMethod: 'automatic',
  amountCapturable: 0n,
  amountCaptured: 1_000n,
  amountRefunded: 0n,
  amountRefundReserved: 0n,
  source: 'tok_visa',
  description: null,
  metadata: {},
  failureCode: null,
  failureMessage: null,
  processorReference: null,
  createdAt: new Date(0),
  updatedAt: new Date(0),
};

const asRefund = (opening: RefundOpening): Refund => opening.refund;

const PENDING: Refund = {
  id: 're_1',
  merchantId: 'mer_1',
  paymentId: 'pay_1',
  amount: 400n,
  currency: 'usd',
  status: 'pending',
  reason: null,
  failureReason: null,
  processorReference: null,
  metadata: {},
  createdAt: new Date(0),
  updatedAt: new Date(0),
};
const SUCCEEDED: Refund = { ...PENDING, status: 'succeeded', processorReference: 'sandbox_re_1' };
const ENDED_AT = new Date(1_000);

function setUp(sharedAnswers: ('opened' | 'lost')[]) {
  const outbox = { taskIds: [] };
  const refunds = {
    openShared: jest.fn((opening: RefundOpening) =>
      Promise.resolve(sharedAnswers.shift() === 'opened' ? asRefund(opening) : null),
    ),
    open: jest.fn((_manager: unknown, opening: RefundOpening) =>
      Promise.resolve({ refund: asRefund(opening), outbox }),
    ),
    findByIdShared: jest.fn((): Promise<Refund | undefined> => Promise.resolve(PENDING)),
    findById: jest.fn((): Promise<Refund | undefined> => Promise.resolve(SUCCEEDED)),
    settleOne: jest.fn((): Promise<Date | null> => Promise.resolve(ENDED_AT)),
  };
  const payments = {
    findRefundableShared: jest.fn(() => Promise.resolve(PAYMENT)),
    lockForRefund: jest.fn(() => Promise.resolve(PAYMENT)),
  };
  const dataSource = { transaction: (work: (manager: unknown) => Promise<unknown>) => work({}) };
  const committed = { sendCommitted: jest.fn() };
  const config = { get: () => 0 };
  const waiter = { outcome: (refund: Refund) => Promise.resolve(refund) };
  const service = new RefundRequestsService(
    refunds as unknown as RefundsRepository,
    payments as unknown as PaymentsRepository,
    waiter as unknown as RefundWaiter,
    dataSource as unknown as DataSource,
    committed as unknown as CommittedOutbox,
    config as unknown as ConfigService<GatewayEnvironment, true>,
  );
  return { service, refunds, payments, committed, outbox };
}

describe('RefundRequestsService: opening a refund', () => {
  it('opens from the payment as read, without its lock, in the shared statement', async () => {
    const { service, refunds, payments } = setUp(['opened']);
    const refund = await service.create('mer_1', { payment: 'pay_1', amount: 300 }, null, 0);
    expect(refund).toMatchObject({ paymentId: 'pay_1', amount: 300n, status: 'pending' });
    expect(refunds.openShared).toHaveBeenCalledTimes(1);
    expect(payments.lockForRefund).not.toHaveBeenCalled();
    expect(refunds.open).not.toHaveBeenCalled();
  });

  it('decides again from a fresh read when another refund reserved first', async () => {
    const { service, refunds, payments } = setUp(['lost', 'opened']);
    await service.create('mer_1', { payment: 'pay_1' }, null, 0);
    expect(payments.findRefundableShared).toHaveBeenCalledTimes(2);
    expect(refunds.openShared).toHaveBeenCalledTimes(2);
    expect(payments.lockForRefund).not.toHaveBeenCalled();
  });

  it('after two lost races, opens under the payment lock and publishes the task after the commit', async () => {
    const { service, refunds, payments, committed, outbox } = setUp(['lost', 'lost']);
    const claim = {
      scope: 'mer_1',
      key: 'k',
      requestHash: 'h',
      method: 'POST',
      path: '/v1/refunds',
      reference: null,
      completed: false,
    };
    const refund = await service.create('mer_1', { payment: 'pay_1', amount: 200 }, claim, 0);
    expect(refunds.openShared).toHaveBeenCalledTimes(2);
    expect(payments.lockForRefund).toHaveBeenCalledTimes(1);
    expect(refunds.open).toHaveBeenCalledTimes(1);
    expect(committed.sendCommitted).toHaveBeenCalledWith(outbox);
    expect(refund.amount).toBe(200n);
    // What a retry of the request resumes from.
    expect(claim.reference).toBe(refund.id);
  });
});

describe('RefundRequestsService: applying an outcome', () => {
  const outcome = {
    refund_id: 're_1',
    status: 'failed' as const,
    failure_reason: 'expired_or_canceled_card',
  };

  it('ends a pending refund once, with its event, and answers it as the outcome left it', async () => {
    const { service, refunds } = setUp([]);
    await expect(service.settle(outcome)).resolves.toMatchObject({
      status: 'failed',
      failureReason: 'expired_or_canceled_card',
      updatedAt: ENDED_AT,
    });
    expect(refunds.settleOne).toHaveBeenCalledWith({
      id: 're_1',
      end: {
        status: 'failed',
        failureReason: 'expired_or_canceled_card',
        processorReference: null,
      },
      event: {
        type: 'refund.failed',
        data: expect.objectContaining({ id: 're_1', status: 'failed' }) as unknown,
      },
    });
  });

  it('applies nothing for a refund that had ended, and answers it as it is', async () => {
    const { service, refunds } = setUp([]);
    refunds.findByIdShared.mockResolvedValueOnce(SUCCEEDED);
    await expect(service.settle(outcome)).resolves.toBe(SUCCEEDED);
    expect(refunds.settleOne).not.toHaveBeenCalled();
  });

  it('answers the refund as another delivery left it when that one ended it first', async () => {
    const { service, refunds } = setUp([]);
    refunds.settleOne.mockResolvedValueOnce(null);
    await expect(service.settle(outcome)).resolves.toBe(SUCCEEDED);
    expect(refunds.findById).toHaveBeenCalledWith('re_1');
  });

  it('refuses an outcome for a refund that does not exist (refund_not_found)', async () => {
    const { service, refunds } = setUp([]);
    refunds.findByIdShared.mockResolvedValueOnce(undefined);
    await expect(service.settle(outcome)).rejects.toMatchObject({ code: 'refund_not_found' });
  });
});
