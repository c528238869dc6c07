/**
 * The rules of a run, end to end on real RabbitMQ and PostgreSQL: the cut-off is
 * inclusive to the millisecond (by the time the ledger posted an item); refunds above
 * what was captured leave fees owed, carried to the next settlement and collected first;
 * a merchant the ledger refuses (its pending balance was spent by a refund after the
 * cut-off) fails alone, the run ends partially failed, and running the cut-off again
 * once the money is there settles only that merchant; a payout the rail fails is released
 * (the money is available again) and paid with the next payout; a merchant task that
 * dead-letters ends its run partially failed rather than running for good. The ledger stays
 * balanced.
 */
import { eventually, type CreatedMerchant } from '@clearline/testing';
import { settlementsOf, startSettlement, type SettlementHarness } from './settlement-harness';

describe('settlement runs: cut-off, debts, a failed merchant', () => {
  let h: SettlementHarness;

  beforeAll(async () => {
    h = await startSettlement();
  });

  afterEach(() => h.expectBalanced());

  afterAll(async () => {
    await h.close();
  });

  const shop = (name: string): Promise<CreatedMerchant> =>
    h.gw.createMerchant({ name, pricing: { percent_bps: 100, fixed: 0 } });

  it('settles an item posted exactly at the cut-off, and not one a millisecond after', async () => {
    const merchant = await shop('Boundary shop');
    const cutOffS = Math.floor(Date.now() / 1_000) - 3_600;
    const at = await h.postedCapture(merchant, 1_000, new Date(cutOffS * 1_000));
    const after = await h.postedCapture(merchant, 2_000, new Date(cutOffS * 1_000 + 1));

    const run = await h.startRun(cutOffS);
    expect(run.is_new).toBe(true);
    expect((await h.runEnded(run.id)).status).toBe('completed');
    const items = await h.db.query<{ object_id: string }>(
      `SELECT i.object_id FROM settlement_items i JOIN settlements s ON s.id = i.settlement_id
        WHERE s.merchant_id = $1`,
      [merchant.id],
    );
    expect(items.map((item) => item.object_id)).toEqual([at]);

    const next = await h.startRun(cutOffS + 1);
    expect((await h.runEnded(next.id)).status).toBe('completed');
    const settlements = await settlementsOf(h.db, merchant);
    expect(settlements.map((s) => [s.count, s.gross])).toEqual([
      [1, '1000'],
      [1, '2000'],
    ]);
    expect(after).toMatch(/^pay_/);
  });

  it('carries fees a settlement cannot collect and collects them first next time', async () => {
    const merchant = await shop('Refunding shop');
    const payment = await h.captured(merchant, 1_000);
    expect((await h.refund(merchant, { payment })).body.status).toBe('succeeded');
    const first = await h.startRun(await h.cutOffNow());
    expect((await h.runEnded(first.id)).status).toBe('completed');
    const [owing] = await settlementsOf(h.db, merchant);
    // 1 % of 1,000 = 10 in fees; the refund took the whole capture back.
    expect(owing).toMatchObject({
      gross: '1000',
      refunds: '1000',
      fees: '10',
      net: '-10',
      to_available: '0',
      fees_owed_out: '10',
      payout_id: null,
    });

    await h.captured(merchant, 5_000);
    const second = await h.startRun(await h.cutOffNow());
    expect((await h.runEnded(second.id)).status).toBe('completed');
    const [, paying] = await settlementsOf(h.db, merchant);
    expect(paying).toMatchObject({
      gross: '5000',
      fees: '50',
      net: '4950',
      fees_owed_in: '10',
      fees_owed_out: '0',
      to_available: '4940',
    });
    expect(paying?.payout_id).toMatch(/^po_/);
  });

  it('fails a merchant the ledger refuses alone, then settles only it when run again', async () => {
    const healthy = await shop('Healthy shop');
    const spent = await shop('Spent shop');
    await h.captured(healthy, 3_000);
    const payment = await h.captured(spent, 1_000);
    const cutOffS = await h.cutOffNow();
    // After the cut-off, a refund draws the whole capture from pending.
    expect((await h.refund(spent, { payment })).body.status).toBe('succeeded');

    const run = await h.startRun(cutOffS);
    expect((await h.runEnded(run.id)).status).toBe('partially_failed');
    expect(await settlementsOf(h.db, spent)).toEqual([]);
    const [failed] = await h.db.query<{ status: string; failure_code: string }>(
      `SELECT status, failure_code FROM settlement_run_merchants
        WHERE run_id = $1 AND merchant_id = $2`,
      [run.id, spent.id],
    );
    expect(failed).toEqual({ status: 'failed', failure_code: 'ledger_refused' });
    const healthySettled = await settlementsOf(h.db, healthy);
    expect(healthySettled).toHaveLength(1);

    // New money reaches pending; the same cut-off again settles what is missing.
    await h.captured(spent, 2_000);
    const again = await h.startRun(cutOffS);
    expect(again).toMatchObject({ id: run.id, is_new: false });
    expect((await h.runEnded(run.id)).status).toBe('completed');
    expect(await settlementsOf(h.db, spent)).toEqual([
      expect.objectContaining({ count: 1, gross: '1000', fees: '10', to_available: '990' }),
    ]);
    expect(await settlementsOf(h.db, healthy)).toEqual(healthySettled);
  });

  it('releases a payout the rail fails, and pays the money with the next payout', async () => {
    const merchant = await h.gw.createMerchant({
      name: 'Closed account shop',
      pricing: { percent_bps: 0, fixed: 0 },
    });
    // The sandbox rail fails an amount ending in 013 (a closed account).
    await h.captured(merchant, 5_013);
    const first = await h.startRun(await h.cutOffNow());
    expect((await h.runEnded(first.id)).status).toBe('completed');
    const [settled] = await settlementsOf(h.db, merchant);
    const failed = await eventually(async () => {
      const [row] = await h.db.query<{ status: string; amount: string; failure_code: string }>(
        `SELECT status, amount, failure_code FROM payouts WHERE id = $1`,
        [settled?.payout_id],
      );
      return row?.status === 'pending' ? undefined : row;
    });
    expect(failed).toEqual({ status: 'failed', amount: '5013', failure_code: 'account_closed' });
    const available = async (): Promise<number> => {
      const balance = await h.gw.call<{ available: { amount: number; currency: string }[] }>(
        'GET',
        '/v1/balance',
        { key: merchant.api_key },
      );
      return balance.body.available.find((line) => line.currency === 'usd')?.amount ?? 0;
    };
    expect(await available()).toBe(5_013);

    await h.captured(merchant, 1_001);
    const second = await h.startRun(await h.cutOffNow());
    expect((await h.runEnded(second.id)).status).toBe('completed');
    const [, next] = await settlementsOf(h.db, merchant);
    const paid = await eventually(async () => {
      const [row] = await h.db.query<{ status: string; amount: string }>(
        `SELECT status, amount FROM payouts WHERE id = $1`,
        [next?.payout_id],
      );
      return row?.status === 'pending' ? undefined : row;
    });
    expect(paid).toEqual({ status: 'paid', amount: '6014' });
    expect(await available()).toBe(0);
  });

  // Last: its ghost merchant stays unsettled, so every later run would end partially failed.
  it('ends a run whose merchant task dead-letters partially failed, never running for good', async () => {
    const healthy = await shop('Neighbour shop');
    await h.captured(healthy, 4_000);
    // Ledger accounts with a posting, owned by no merchant the gateway knows: its
    // settlement task cannot price it and dead-letters.
    const ghost = { id: `mer_ghost${process.pid}` } as CreatedMerchant;
    await h.db.query(
      `INSERT INTO ledger_accounts (id, currency, code, owner, debits_must_not_exceed_credits)
       VALUES ($1 || ':pending:USD', 'USD', 100, $1, true),
              ($1 || ':available:USD', 'USD', 101, $1, true)`,
      [ghost.id],
    );
    await h.postedCapture(ghost, 700, new Date(Date.now() - 60_000));
    const cutOffS = await h.cutOffNow();

    const run = await h.startRun(cutOffS);
    expect((await h.runEnded(run.id)).status).toBe('partially_failed');
    expect(await settlementsOf(h.db, healthy)).toEqual([
      expect.objectContaining({ gross: '4000', status: 'settled' }),
    ]);
    expect(await settlementsOf(h.db, ghost)).toEqual([]);
    // Run again: the merchant left pending is tried again, and the run ends again.
    const again = await h.startRun(cutOffS);
    expect(again).toMatchObject({ id: run.id, is_new: false });
    expect((await h.runEnded(run.id)).status).toBe('partially_failed');
    const [attempts] = await h.db.query<{ attempt: number }>(
      `SELECT attempt FROM settlement_run_merchants WHERE run_id = $1 AND merchant_id = $2`,
      [run.id, ghost.id],
    );
    expect(attempts?.attempt).toBe(2);
  });
});
