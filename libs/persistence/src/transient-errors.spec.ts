import { QueryFailedError } from 'typeorm';
import { isTransientDatabaseError } from './transient-errors';

function queryFailed(code: string): QueryFailedError {
  return new QueryFailedError(
    'SELECT 1',
    [],
    Object.assign(new Error(`sqlstate ${code}`), { code }),
  );
}

describe('isTransientDatabaseError', () => {
  it.each(['40001', '40P01', '55P03', '57014', '57P01', '08006', '08003', '53300'])(
    'retries SQLSTATE %s',
    (code) => {
      expect(isTransientDatabaseError(queryFailed(code))).toBe(true);
    },
  );

  it.each([
    ['23514', 'a CHECK violation'],
    ['23505', 'a unique violation'],
    ['42601', 'a syntax error'],
    ['42P01', 'a missing table'],
    ['22P02', 'an invalid text representation'],
  ])('does not retry SQLSTATE %s (%s)', (code) => {
    expect(isTransientDatabaseError(queryFailed(code))).toBe(false);
  });

  it('retries a connection that ended or was refused', () => {
    expect(isTransientDatabaseError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(
      isTransientDatabaseError(
        Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      ),
    ).toBe(true);
  });

  it('does not retry anything else', () => {
    expect(isTransientDatabaseError(new Error('bug'))).toBe(false);
    expect(isTransientDatabaseError('40001')).toBe(false);
    expect(isTransientDatabaseError(null)).toBe(false);
  });
});
