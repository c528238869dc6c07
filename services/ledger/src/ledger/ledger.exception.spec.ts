import { LedgerAssertionError } from '@clearline/ledger-core';
import { QueryFailedError } from 'typeorm';
import { LEDGER_WRITE_RETRY } from './ledger.consumer';
import {
  isTransientLedgerError,
  LedgerError,
  LedgerErrorCode,
  ledgerTaskOutcome,
} from './ledger.exception';

const CODES = Object.values(LedgerErrorCode);
/** Lost races: the only ledger codes worth another attempt. */
const TRANSIENT = [
  LedgerErrorCode.AccountsCreatedConcurrently,
  LedgerErrorCode.TransfersCreatedConcurrently,
];

function queryFailed(code: string): QueryFailedError {
  return new QueryFailedError(
    'SELECT 1',
    [],
    Object.assign(new Error(`sqlstate ${code}`), { code }),
  );
}

/** What a ledger write task's `retryOn` says of an error. */
const retried = (error: unknown): boolean =>
  LEDGER_WRITE_RETRY.retryOn.some((matches) => matches(error));

describe('ledger error outcomes', () => {
  it.each(CODES)('gives %s a task outcome', (code) => {
    expect(['retry', 'fail', 'dead-letter']).toContain(ledgerTaskOutcome(code));
  });

  it.each(TRANSIENT)('retries %s', (code) => {
    expect(ledgerTaskOutcome(code)).toBe('retry');
    expect(isTransientLedgerError(new LedgerError('lost a race', code))).toBe(true);
  });

  it('retries no other code: every code outside the lost races is final or a fault', () => {
    // Holds as codes are added: a new code must be added to TRANSIENT to be retried.
    for (const code of CODES) {
      const retry = ledgerTaskOutcome(code) === 'retry';
      expect({ code, retry }).toEqual({ code, retry: TRANSIENT.includes(code) });
      expect(isTransientLedgerError(new LedgerError('an error', code))).toBe(retry);
    }
  });

  it('leads the message with the code, which the task result records', () => {
    const error = new LedgerError(
      '2 of 3 new accounts',
      LedgerErrorCode.AccountsCreatedConcurrently,
    );
    expect(error.message).toBe('accounts_created_concurrently: 2 of 3 new accounts');
    expect(error.name).toBe('LedgerError');
  });
});

describe('the ledger write tasks retryOn', () => {
  it.each(TRANSIENT)('retries a LedgerError %s', (code) => {
    expect(retried(new LedgerError('lost a race', code))).toBe(true);
  });

  it.each([
    ['40001', 'a serialization failure'],
    ['40P01', 'a deadlock'],
    ['55P03', 'a lock timeout'],
    ['57014', 'a statement timeout'],
    ['08006', 'a lost connection'],
  ])('retries SQLSTATE %s (%s)', (code) => {
    expect(retried(queryFailed(code))).toBe(true);
  });

  it.each([
    ['23514', 'a CHECK violation'],
    ['23505', 'a unique violation'],
    ['42601', 'a syntax error'],
    ['42P01', 'a missing table'],
  ])('does not retry SQLSTATE %s (%s)', (code) => {
    expect(retried(queryFailed(code))).toBe(false);
  });

  it('does not retry a broken assertion or any other error', () => {
    expect(retried(new LedgerAssertionError('pending balances never go negative'))).toBe(false);
    expect(retried(new Error('bug'))).toBe(false);
    expect(retried('accounts_created_concurrently')).toBe(false);
  });
});
