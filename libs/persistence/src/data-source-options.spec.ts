import { dataSourceOptions, statementDeadlineOptions } from './data-source-options';
import { PreparingClient } from './prepared-statements';

describe('dataSourceOptions deadlines', () => {
  it('sets statement, lock and idle-in-transaction timeouts on every connection, and a pool timeout', () => {
    const options = dataSourceOptions({
      url: 'postgres://u:p@127.0.0.1/db',
      applicationName: 'test',
      statementTimeoutMs: 15_000,
      lockTimeoutMs: 5_000,
      idleInTransactionTimeoutMs: 60_000,
      poolTimeoutMs: 4_000,
    });
    expect(options.extra).toMatchObject({
      options:
        '-c statement_timeout=15000 -c lock_timeout=5000 -c idle_in_transaction_session_timeout=60000' +
        ' -c plan_cache_mode=force_custom_plan',
      connectionTimeoutMillis: 4_000,
    });
  });

  it('runs marked statements prepared, planned for their parameters each time', () => {
    const options = dataSourceOptions({ url: 'postgres://u:p@127.0.0.1/db', applicationName: 't' });
    expect(options.extra).toMatchObject({ Client: PreparingClient });
    expect((options.extra as { options: string }).options).toContain(
      '-c plan_cache_mode=force_custom_plan',
    );
  });

  it('has deadlines by default, and 0 turns one off (migrations)', () => {
    expect(statementDeadlineOptions()).toMatch(/statement_timeout=[1-9]\d*/);
    expect(statementDeadlineOptions({ statementTimeoutMs: 0 })).toContain('statement_timeout=0 ');
  });

  it('refuses a deadline that is not a whole number of milliseconds', () => {
    expect(() => statementDeadlineOptions({ lockTimeoutMs: -1 })).toThrow(/lockTimeoutMs/);
    expect(() => statementDeadlineOptions({ statementTimeoutMs: 1.5 })).toThrow(
      /statementTimeoutMs/,
    );
  });
});
