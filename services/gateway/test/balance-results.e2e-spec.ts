/**
 * The balance query leaves nothing behind: `GET /v1/balance` asks the ledger with a
 * `ledger.balances` task that ignores its result, so the answer reaches the request by
 * notification and no `task_results` row is written per call (before, every balance
 * request left one for ever). The same holds for the operators' ledger check.
 *
 * How: the production gateway in this process and the ledger as its own process
 * (payments-harness), on this file's vhost and database; a merchant with a captured
 * payment asks for its balance three times and gets the right answer each time; then
 * `task_results` is read: the payment's own ledger tasks are there (their results are
 * kept), no `ledger.balances` or `ledger.check` row is.
 */
import { connectDatabase, type TestDatabase } from '@clearline/testing';
import { startPayments, type PaymentsHarness } from './payments-harness';

describe('GET /v1/balance leaves no task result behind', () => {
  let h: PaymentsHarness;
  let db: TestDatabase;

  const rowsOf = async (task: string): Promise<number> => {
    const [row] = await db.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM task_results WHERE task = $1`,
      [task],
    );
    return row?.count ?? 0;
  };

  beforeAll(async () => {
    h = await startPayments();
    db = connectDatabase(h.gw.infra.databaseUrl);
  });

  afterAll(async () => {
    await db.close();
    await h.close();
  });

  it('answers every balance request and stores no ledger.balances row', async () => {
    const shop = await h.gw.createMerchant();
    await h.captured(shop, 1_200);
    for (let call = 0; call < 3; call += 1) {
      const balance = await h.gw.call('GET', '/v1/balance', { key: shop.api_key });
      expect(balance.status).toBe(200);
      expect(balance.body).toEqual({
        object: 'balance',
        available: [],
        pending: [{ amount: 1_200, currency: 'usd' }],
      });
    }
    expect(await h.ledgerCheck()).toMatchObject({ balanced: true, violations: [] });

    // The payment's own tasks keep their results: the table is written, just not per query.
    expect(
      await db.query(`SELECT 1 FROM task_results WHERE task <> 'ledger.balances'`),
    ).not.toEqual([]);
    expect(await rowsOf('ledger.balances')).toBe(0);
    expect(await rowsOf('ledger.check')).toBe(0);
  });
});
