import 'reflect-metadata';
import { LedgerUnavailableError } from '@clearline/platform';
import { ProcessorUnavailableError } from '@clearline/processor';
import { QueryFailedError } from 'typeorm';
import { REFUND_RETRY } from './refunds.consumer';
import {
  endsRefund,
  isTransientRefundError,
  RefundError,
  RefundErrorCode,
  refundTaskOutcome,
} from './refund.exception';

const CODES = Object.values(RefundErrorCode);
/** Worth another attempt: something did not answer, or a race another delivery won. */
const TRANSIENT = [
  RefundErrorCode.JobOpenedConcurrently,
  RefundErrorCode.ProcessorUnavailable,
  RefundErrorCode.LedgerUnavailable,
];
/** The refund's own answers: it ends failed with a reason. */
const FINAL = [RefundErrorCode.InsufficientFunds, RefundErrorCode.ProcessorRefused];

function queryFailed(code: string): QueryFailedError {
  return new QueryFailedError(
    'SELECT 1',
    [],
    Object.assign(new Error(`sqlstate ${code}`), { code }),
  );
}

const error = (code: RefundErrorCode, failureReason: string | null = null): RefundError =>
  new RefundError('an error', code, failureReason);

/** What the refund task's `retryOn` says of an error. */
const retried = (e: unknown): boolean => REFUND_RETRY.retryOn.some((matches) => matches(e));

describe('refund error outcomes', () => {
  it.each(CODES)('gives %s a task outcome', (code) => {
    expect(['retry', 'fail', 'dead-letter']).toContain(refundTaskOutcome(code));
  });

  it.each(TRANSIENT)('retries %s', (code) => {
    expect(refundTaskOutcome(code)).toBe('retry');
    expect(isTransientRefundError(error(code))).toBe(true);
    expect(retried(error(code))).toBe(true);
  });

  it('retries no other code, and ends the refund on its own answers only', () => {
    // Holds as codes are added: a new code must be listed above to be retried or final.
    for (const code of CODES) {
      const outcome = refundTaskOutcome(code);
      expect({ code, retry: outcome === 'retry' }).toEqual({
        code,
        retry: TRANSIENT.includes(code),
      });
      expect({ code, fail: outcome === 'fail' }).toEqual({ code, fail: FINAL.includes(code) });
      expect(retried(error(code))).toBe(outcome === 'retry');
    }
  });

  it('leads the message with the code, which the task result records', () => {
    const e = new RefundError('re_1: no answer', RefundErrorCode.LedgerUnavailable);
    expect(e.message).toBe('ledger_unavailable: re_1: no answer');
    expect(e.name).toBe('RefundError');
  });
});

describe('the refund task retryOn', () => {
  it.each([
    ['40001', 'a serialization failure'],
    ['40P01', 'a deadlock'],
    ['55P03', 'a lock timeout'],
    ['08006', 'a lost connection'],
  ])('retries SQLSTATE %s (%s)', (code) => {
    expect(retried(queryFailed(code))).toBe(true);
  });

  it.each([
    ['23514', 'a CHECK violation'],
    ['22003', 'a number out of range'],
    ['42601', 'a syntax error'],
    ['42P01', 'a missing table'],
  ])('does not retry SQLSTATE %s (%s)', (code) => {
    expect(retried(queryFailed(code))).toBe(false);
  });

  it('leaves the libraries’ errors to the service, which turns them into refund errors', () => {
    expect(retried(new ProcessorUnavailableError('down'))).toBe(false);
    expect(retried(new LedgerUnavailableError('no answer'))).toBe(false);
    expect(retried(new Error('bug'))).toBe(false);
  });
});

describe('endsRefund', () => {
  it.each(FINAL)('ends the refund on %s, whether or not a retry would follow', (code) => {
    expect(endsRefund(error(code, 'a reason'), true)).toBe(true);
    expect(endsRefund(error(code, 'a reason'), false)).toBe(true);
  });

  it('ends it on a processor outage only when no retry follows', () => {
    const outage = error(RefundErrorCode.ProcessorUnavailable, 'processor_unavailable');
    expect(endsRefund(outage, true)).toBe(false);
    expect(endsRefund(outage, false)).toBe(true);
  });

  it('never ends it on a ledger that did not answer: the step may still apply', () => {
    expect(endsRefund(error(RefundErrorCode.LedgerUnavailable), true)).toBe(false);
    expect(endsRefund(error(RefundErrorCode.LedgerUnavailable), false)).toBe(false);
  });

  it.each(CODES.filter((code) => refundTaskOutcome(code) === 'dead-letter'))(
    'never ends it on the fault %s',
    (code) => {
      expect(endsRefund(error(code), false)).toBe(false);
    },
  );
});
