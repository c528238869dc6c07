import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import type { PaymentProcessor, RefundResult, RetrieveResult } from '@clearline/processor';
import { ProcessorUnavailableError } from '@clearline/processor';
import type { DataSource } from 'typeorm';
import type { RefundJobRow } from './refund-job.rows';
import type { RefundJobsRepository } from './refund-jobs.repository';
import type { RefundLedger } from './refund-ledger';
import {
  RefundProcessingService,
  settledPayload,
  type RefundAttempt,
  type RefundRequest,
} from './refund-processing.service';
import { RefundError, RefundErrorCode } from './refund.exception';

/**
 * What the service does with each kind of failure, and that it asks the attempt (the
 * task's context) rather than counting retries: the ledger, the processor and the job
 * table are fakes; the outcome is recorded through a fake transaction.
 */

const REQUEST: RefundRequest = {
  refundId: 're_1',
  paymentId: 'pay_1',
  merchantId: 'mer_1',
  amount: 500n,
  currency: 'usd',
  source: 'tok_visa',
  round: 0,
};

const JOB: RefundJobRow = {
  refund_id: 're_1',
  payment_id: 'pay_1',
  merchant_id: 'mer_1',
  amount: '500',
  currency: 'usd',
  status: 'processing',
  funded_from: null,
  failure_reason: null,
  processor_refund_id: null,
};

/** An attempt after which another follows (or not), whatever is thrown. */
const attempt = (willRetry: boolean, retries = 0): RefundAttempt => ({
  retries,
  willRetry: () => willRetry,
});

const notFound = (): Promise<RetrieveResult> => Promise.resolve({ status: 'not_found' });

function setUp(
  refund: () => Promise<RefundResult>,
  job: RefundJobRow = JOB,
  retrieve: () => Promise<RetrieveResult> = notFound,
) {
  const jobs = {
    open: jest.fn(() => Promise.resolve(job)),
    finish: jest.fn(() => Promise.resolve(true)),
  };
  const ledger = {
    hold: jest.fn(() => Promise.resolve('pending' as const)),
    post: jest.fn(() => Promise.resolve()),
    release: jest.fn(() => Promise.resolve()),
  };
  const processor = { refund: jest.fn(refund), retrieve: jest.fn(retrieve) };
  const manager = { query: jest.fn(() => Promise.resolve([])) };
  const dataSource = { transaction: (work: (m: unknown) => Promise<unknown>) => work(manager) };
  const service = new RefundProcessingService(
    dataSource as unknown as DataSource,
    processor as unknown as PaymentProcessor,
    jobs as unknown as RefundJobsRepository,
    ledger as unknown as RefundLedger,
  );
  return { service, jobs, ledger, processor, manager };
}

const refunded = (): Promise<RefundResult> =>
  Promise.resolve({ status: 'succeeded', processorRefundId: 'sandbox_re_1' });
const unavailable = (): Promise<RefundResult> =>
  Promise.reject(new ProcessorUnavailableError('down'));
const refused = (): Promise<RefundResult> =>
  Promise.resolve({ status: 'failed', failureReason: 'lost_or_stolen_card', message: 'no' });

describe('RefundProcessingService.process', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  it('holds, refunds, posts and records success, telling the processor the attempt', async () => {
    const { service, ledger, processor, jobs } = setUp(refunded);
    await expect(service.process(REQUEST, attempt(true, 2))).resolves.toEqual({
      status: 'succeeded',
      failureReason: null,
      processorRefundId: 'sandbox_re_1',
    });
    expect(processor.refund).toHaveBeenCalledWith(expect.objectContaining({ attempt: 2 }));
    expect(ledger.post).toHaveBeenCalledTimes(1);
    expect(ledger.release).not.toHaveBeenCalled();
    expect(jobs.finish).toHaveBeenCalledTimes(1);
    // Where the hold was taken is recorded with the outcome, in the same statement.
    expect(jobs.finish).toHaveBeenCalledWith(
      expect.objectContaining({
        refundId: 're_1',
        outcome: { status: 'succeeded', failureReason: null, processorRefundId: 'sandbox_re_1' },
        fundedFrom: 'pending',
      }),
    );
  });

  it('ends the job with its announcement to the gateway, named after the refund', async () => {
    const { service, jobs } = setUp(refunded);
    await service.process(REQUEST, attempt(true));
    expect(jobs.finish).toHaveBeenCalledWith(
      expect.objectContaining({
        announce: {
          task: 'gateway.refund_settled',
          payload: settledPayload('re_1', {
            status: 'succeeded',
            failureReason: null,
            processorRefundId: 'sandbox_re_1',
          }),
          options: { id: 're_1:settled' },
        },
      }),
    );
  });

  it('throws a processor outage for the task layer to retry when a retry follows', async () => {
    const { service, ledger, jobs } = setUp(unavailable);
    await expect(service.process(REQUEST, attempt(true))).rejects.toMatchObject({
      code: RefundErrorCode.ProcessorUnavailable,
    });
    expect(ledger.release).not.toHaveBeenCalled();
    expect(jobs.finish).not.toHaveBeenCalled();
  });

  it('fails the refund (processor_unavailable) and releases its hold when no retry follows and the processor says nothing happened', async () => {
    const { service, ledger, jobs, processor } = setUp(unavailable);
    await expect(service.process(REQUEST, attempt(false, 4))).resolves.toMatchObject({
      status: 'failed',
      failureReason: 'processor_unavailable',
    });
    expect(processor.retrieve).toHaveBeenCalledWith(
      expect.objectContaining({ operation: 'refund', idempotencyKey: 're_1', attempt: 4 }),
    );
    expect(ledger.release).toHaveBeenCalledTimes(1);
    expect(jobs.finish).toHaveBeenCalledTimes(1);
  });

  it('posts a refund whose answer was lost when the processor says it was applied', async () => {
    const { service, ledger, jobs } = setUp(unavailable, JOB, () =>
      Promise.resolve({
        status: 'applied',
        applied: {
          operation: 'refund',
          result: { status: 'succeeded', processorRefundId: 'sandbox_re_1' },
        },
      }),
    );
    await expect(service.process(REQUEST, attempt(false, 4))).resolves.toEqual({
      status: 'succeeded',
      failureReason: null,
      processorRefundId: 'sandbox_re_1',
    });
    expect(ledger.post).toHaveBeenCalledTimes(1);
    expect(ledger.release).not.toHaveBeenCalled();
    expect(jobs.finish).toHaveBeenCalledTimes(1);
  });

  it('keeps the hold and ends nothing when the outcome stays unknown (retrieve unavailable too)', async () => {
    const { service, ledger, jobs } = setUp(unavailable, JOB, () =>
      Promise.reject(new ProcessorUnavailableError('still down')),
    );
    await expect(service.process(REQUEST, attempt(false, 4))).rejects.toMatchObject({
      code: RefundErrorCode.ProcessorUnavailable,
      failureReason: null,
    });
    expect(ledger.release).not.toHaveBeenCalled();
    expect(ledger.post).not.toHaveBeenCalled();
    expect(jobs.finish).not.toHaveBeenCalled();
  });

  it('fails a refund the processor refuses at once, with its reason, and releases the hold', async () => {
    const { service, ledger, jobs } = setUp(refused);
    await expect(service.process(REQUEST, attempt(true))).resolves.toMatchObject({
      status: 'failed',
      failureReason: 'lost_or_stolen_card',
    });
    expect(ledger.release).toHaveBeenCalledTimes(1);
    expect(ledger.post).not.toHaveBeenCalled();
    // The job still says where the (released) hold had been taken.
    expect(jobs.finish).toHaveBeenCalledWith(
      expect.objectContaining({
        refundId: 're_1',
        fundedFrom: 'pending',
      }),
    );
  });

  it('fails insufficient_funds without a release: nothing was held', async () => {
    const { service, ledger, processor, jobs } = setUp(refunded);
    ledger.hold.mockRejectedValue(
      new RefundError('short', RefundErrorCode.InsufficientFunds, 'insufficient_funds'),
    );
    await expect(service.process(REQUEST, attempt(true))).resolves.toMatchObject({
      status: 'failed',
      failureReason: 'insufficient_funds',
    });
    expect(ledger.release).not.toHaveBeenCalled();
    expect(processor.refund).not.toHaveBeenCalled();
    expect(jobs.finish).toHaveBeenCalledWith(
      expect.objectContaining({ refundId: 're_1', fundedFrom: null }),
    );
  });

  it('throws a ledger that did not answer even when no retry follows: nothing may be concluded', async () => {
    const { service, ledger, jobs } = setUp(refunded);
    ledger.post.mockRejectedValue(new RefundError('late', RefundErrorCode.LedgerUnavailable));
    await expect(service.process(REQUEST, attempt(false, 4))).rejects.toMatchObject({
      code: RefundErrorCode.LedgerUnavailable,
    });
    expect(ledger.release).not.toHaveBeenCalled();
    expect(jobs.finish).not.toHaveBeenCalled();
  });

  it('throws a fault to be dead-lettered, and records nothing', async () => {
    const { service, ledger, jobs } = setUp(refunded);
    ledger.hold.mockRejectedValue(new RefundError('no account', RefundErrorCode.AccountsNotOpen));
    await expect(service.process(REQUEST, attempt(false))).rejects.toMatchObject({
      code: RefundErrorCode.AccountsNotOpen,
    });
    expect(jobs.finish).not.toHaveBeenCalled();
  });

  it('returns a job that has ended as it ended, and does nothing again', async () => {
    const ended: RefundJobRow = { ...JOB, status: 'failed', failure_reason: 'declined' };
    const { service, ledger, processor } = setUp(refunded, ended);
    await expect(service.process(REQUEST, attempt(true))).resolves.toEqual({
      status: 'failed',
      failureReason: 'declined',
      processorRefundId: null,
    });
    expect(ledger.hold).not.toHaveBeenCalled();
    expect(processor.refund).not.toHaveBeenCalled();
  });

  it('sends the outcome of an ended job again when the sweeper resumes it (it may never have reached the gateway)', async () => {
    const ended: RefundJobRow = {
      ...JOB,
      status: 'succeeded',
      processor_refund_id: 'sandbox_re_1',
    };
    const { service, ledger, processor, manager } = setUp(refunded, ended);
    await expect(service.process({ ...REQUEST, round: 2 }, attempt(true))).resolves.toMatchObject({
      status: 'succeeded',
    });
    expect(ledger.hold).not.toHaveBeenCalled();
    expect(processor.refund).not.toHaveBeenCalled();
    const sent = JSON.stringify(manager.query.mock.calls);
    expect(sent).toContain('re_1:settled:resume:2');
    // The outcome sent again still names the processor's refund.
    expect(sent).toContain('sandbox_re_1');
  });

  it('sends nothing again for an ended job on its first round (a redelivery)', async () => {
    const ended: RefundJobRow = {
      ...JOB,
      status: 'succeeded',
      processor_refund_id: 'sandbox_re_1',
    };
    const { service, manager } = setUp(refunded, ended);
    await service.process(REQUEST, attempt(true));
    expect(manager.query).not.toHaveBeenCalled();
  });
});

describe('settledPayload', () => {
  it("tells the gateway a success's processor reference, and a failure's reason only", () => {
    expect(
      settledPayload('re_1', {
        status: 'succeeded',
        failureReason: null,
        processorRefundId: 'sandbox_re_re_1',
      }),
    ).toEqual({ refund_id: 're_1', status: 'succeeded', processor_reference: 'sandbox_re_re_1' });
    expect(
      settledPayload('re_1', {
        status: 'failed',
        failureReason: 'declined',
        processorRefundId: null,
      }),
    ).toEqual({ refund_id: 're_1', status: 'failed', failure_reason: 'declined' });
  });
});
