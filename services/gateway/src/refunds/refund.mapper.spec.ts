import { isRefundSettledResult } from '@clearline/contracts';
import {
  refundEndFromWire,
  toRefundDto,
  toRefundSettledResult,
  withSettledResult,
} from './refund.mapper';
import type { Refund } from './refund.model';

const created = new Date('2026-01-02T03:04:05.678Z');
const pending: Refund = {
  id: 're_1',
  merchantId: 'mer_1',
  paymentId: 'pay_1',
  amount: 500n,
  currency: 'usd',
  status: 'pending',
  reason: null,
  failureReason: null,
  processorReference: null,
  metadata: {},
  createdAt: created,
  updatedAt: created,
};
const succeeded: Refund = {
  ...pending,
  status: 'succeeded',
  processorReference: 'sandbox_re_re_1',
  updatedAt: new Date('2026-01-02T03:04:06.000Z'),
};

describe('refund object', () => {
  it('shows the processor reference, null while pending', () => {
    expect(toRefundDto(pending).processor_reference).toBeNull();
    expect(toRefundDto(succeeded)).toMatchObject({
      status: 'succeeded',
      processor_reference: 'sandbox_re_re_1',
    });
  });
});

describe('refund outcome', () => {
  it('records a success with its processor reference, a failure with its reason only', () => {
    expect(
      refundEndFromWire({
        refund_id: 're_1',
        status: 'succeeded',
        processor_reference: 'sandbox_re_re_1',
      }),
    ).toEqual({ status: 'succeeded', failureReason: null, processorReference: 'sandbox_re_re_1' });
    expect(
      refundEndFromWire({ refund_id: 're_1', status: 'failed', processor_reference: 'stray' }),
    ).toEqual({ status: 'failed', failureReason: 'unknown', processorReference: null });
    // An outcome from a refund service that predates references still applies.
    expect(refundEndFromWire({ refund_id: 're_1', status: 'succeeded' })).toEqual({
      status: 'succeeded',
      failureReason: null,
      processorReference: null,
    });
  });

  it('is the task result the waiting request answers with, reference included', () => {
    const result = toRefundSettledResult(succeeded);
    expect(result).toEqual({
      version: 1,
      refund_id: 're_1',
      status: 'succeeded',
      failure_reason: null,
      processor_reference: 'sandbox_re_re_1',
      updated_at: '2026-01-02T03:04:06.000Z',
    });
    expect(isRefundSettledResult(result, 're_1')).toBe(true);
    expect(toRefundDto(withSettledResult(pending, result))).toEqual(toRefundDto(succeeded));
  });

  it('is not recognised without the reference (an older writer): the refund is read instead', () => {
    const { processor_reference: _reference, ...older } = toRefundSettledResult(succeeded);
    expect(isRefundSettledResult(older, 're_1')).toBe(false);
  });
});
