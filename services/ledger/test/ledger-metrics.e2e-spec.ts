/**
 * The ledger's metrics: transfers counted by result code (applied `ok`, repeated
 * `exists`, each rejection by its own code), and every ledger check counted by outcome,
 * with the violations of the last one — what the `ClearlineLedgerUnbalanced` alert reads.
 *
 * How: the ledger's task handlers in this process on the file's own vhost and database;
 * transfers and checks are sent as tasks, a balance is tampered with through the
 * ledger's own connection (and put back), and the counters are read from the process's
 * registry before and after each step.
 */
import { LEDGER_TASK, merchantAccountId, platformAccountId } from '@clearline/contracts';
import { register } from 'prom-client';
import {
  isolatedInfrastructure,
  type IsolatedInfrastructure,
  type TaskApp,
} from '@clearline/testing';
import { LEDGER_CHECK_SCHEDULE } from '../src/ledger/ledger-queries.service';
import { createTransfers, ledgerCheck, startLedger } from './ledger-harness';

const M = 'mer_metrics';
const clearing = platformAccountId('clearing', 'USD');
const pending = merchantAccountId(M, 'pending', 'USD');

/** A counter or gauge's value for the series with `labels` (0 when absent). */
async function value(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = register.getSingleMetric(name);
  if (!metric) throw new Error(`${name} is not registered`);
  const { values } = await metric.get();
  const found = values.find((v) =>
    Object.entries(labels).every(([key, wanted]) => v.labels[key] === wanted),
  );
  return found?.value ?? 0;
}

describe('ledger metrics', () => {
  let infra: IsolatedInfrastructure;
  let ledger: TaskApp;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    ledger = await startLedger(infra);
    const opened = await ledger.client.send(LEDGER_TASK.openMerchant, { merchant_id: M });
    await opened.result();
  });

  afterAll(async () => {
    await ledger.close();
    await infra.destroy();
  });

  it('count transfers by result code: applied, repeated and each rejection', async () => {
    const before = {
      ok: await value('clearline_ledger_transfers_total', { result: 'ok' }),
      exists: await value('clearline_ledger_transfers_total', { result: 'exists' }),
      notFound: await value('clearline_ledger_transfers_total', {
        result: 'debit_account_not_found',
      }),
    };
    const t = {
      id: 'tr_metrics_1',
      debit_account_id: clearing,
      credit_account_id: pending,
      amount: 700,
      currency: 'usd',
      code: 2,
    };
    expect(await createTransfers(ledger, [t])).toEqual(['ok']);
    expect(
      await createTransfers(ledger, [
        t,
        { ...t, id: 'tr_metrics_2', debit_account_id: 'nobody:USD' },
      ]),
    ).toEqual(['exists', 'debit_account_not_found']);
    expect({
      ok: (await value('clearline_ledger_transfers_total', { result: 'ok' })) - before.ok,
      exists:
        (await value('clearline_ledger_transfers_total', { result: 'exists' })) - before.exists,
      notFound:
        (await value('clearline_ledger_transfers_total', { result: 'debit_account_not_found' })) -
        before.notFound,
    }).toEqual({ ok: 1, exists: 1, notFound: 1 });
  });

  it('count each check by outcome and keep the violations of the last one', async () => {
    const balancedBefore = await value('clearline_ledger_checks_total', { outcome: 'balanced' });
    const unbalancedBefore = await value('clearline_ledger_checks_total', {
      outcome: 'unbalanced',
    });
    expect((await ledgerCheck(ledger)).balanced).toBe(true);
    expect(await value('clearline_ledger_checks_total', { outcome: 'balanced' })).toBe(
      balancedBefore + 1,
    );
    expect(await value('clearline_ledger_check_violations')).toBe(0);
    expect(await value('clearline_ledger_check_last_completed_timestamp_seconds')).toBeGreaterThan(
      0,
    );

    await ledger.dataSource.query(
      `UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE id = $1`,
      [pending],
    );
    try {
      const check = await ledgerCheck(ledger);
      expect(check.balanced).toBe(false);
      expect(await value('clearline_ledger_checks_total', { outcome: 'unbalanced' })).toBe(
        unbalancedBefore + 1,
      );
      expect(await value('clearline_ledger_check_violations')).toBe(check.violations.length);
      expect(check.violations.length).toBeGreaterThan(0);
    } finally {
      await ledger.dataSource.query(
        `UPDATE ledger_accounts SET credits_posted = credits_posted - 1 WHERE id = $1`,
        [pending],
      );
    }
    expect((await ledgerCheck(ledger)).balanced).toBe(true);
    expect(await value('clearline_ledger_check_violations')).toBe(0);
  });

  it('is scheduled: the ledger sends its own check every hour', async () => {
    const rows: { name: string }[] = await ledger.db.query(
      `SELECT name FROM task_schedules WHERE name = $1`,
      [LEDGER_CHECK_SCHEDULE.name],
    );
    expect(rows.map((row) => row.name)).toEqual([LEDGER_CHECK_SCHEDULE.name]);
  });
});
