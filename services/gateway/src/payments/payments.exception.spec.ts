import { isTransientDatabaseError } from '@clearline/persistence';
import { ProcessorUnavailableError } from '@clearline/processor';
import {
  isTransientPaymentError,
  PaymentError,
  PaymentErrorCode,
  paymentTaskOutcome,
} from './payments.exception';

describe('payment task outcomes', () => {
  it('retries only what is transient, fails on answers, dead-letters faults', () => {
    expect(
      Object.fromEntries(Object.values(PaymentErrorCode).map((c) => [c, paymentTaskOutcome(c)])),
    ).toEqual({
      payment_not_found: 'dead-letter',
      source_unknown: 'fail',
      unexpected_state: 'fail',
      amount_to_capture_too_large: 'fail',
      card_declined: 'fail',
      insufficient_funds: 'fail',
      processing_error: 'fail',
      processor_unavailable: 'retry',
      ledger_unavailable: 'retry',
      ledger_not_ready: 'retry',
      ledger_task_failed: 'dead-letter',
      ledger_refused: 'dead-letter',
    });
  });

  it('gives retryOn the retry codes only, never a bare error of the processor or anything else', () => {
    const retried = (error: unknown) =>
      isTransientDatabaseError(error) || isTransientPaymentError(error);
    expect(retried(new PaymentError('m', PaymentErrorCode.ProcessorUnavailable))).toBe(true);
    expect(retried(new PaymentError('m', PaymentErrorCode.LedgerRefused))).toBe(false);
    expect(retried(new PaymentError('m', PaymentErrorCode.NotFound))).toBe(false);
    // The processing service converts it; unconverted it would be a fault.
    expect(retried(new ProcessorUnavailableError('down'))).toBe(false);
    expect(retried(Object.assign(new Error('deadlock detected'), { code: '40P01' }))).toBe(true);
    expect(retried(Object.assign(new Error('check violation'), { code: '23514' }))).toBe(false);
  });
});
