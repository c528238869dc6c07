/**
 * Settlement runs end to end on real RabbitMQ and PostgreSQL: payments and refunds made
 * through the REST API are settled per merchant and currency (fees per payment, net from
 * pending to available, a payout paid by the sandbox rail); the same cut-off again moves
 * nothing; a later run settles only what is new; the ledger stays balanced.
 */
import type { CreatedMerchant } from '@clearline/testing';
import { eventually } from '@clearline/testing';
import { settlementsOf, startSettlement, type SettlementHarness } from './settlement-harness';

describe('settlement runs (end to end)', () => {
  let h: SettlementHarness;
  let shop: CreatedMerchant;

  beforeAll(async () => {
    h = await startSettlement();
    shop = await h.gw.createMerchant({
      name: 'Settled shop',
      pricing: { percent_bps: 290, fixed: 30 },
    });
  });

  afterEach(() => h.expectBalanced());

  afterAll(async () => {
    await h.close();
  });

  it('settles captures and refunds per currency, pays the net out, and moves nothing twice', async () => {
    await h.captured(shop, 10_000);
    const refunded = await h.captured(shop, 2_000);
    await h.captured(shop, 999);
    const refund = await h.refund(shop, { payment: refunded, amount: 500 });
    expect(refund.body.status).toBe('succeeded');
    const cutOff = await h.cutOffNow();

    const run = await h.startRun(cutOff);
    expect(run).toMatchObject({ cut_off: cutOff, status: 'running', is_new: true });
    expect(run.merchants).toBeGreaterThanOrEqual(1);
    expect((await h.runEnded(run.id)).status).toBe('completed');
    // Counted by outcome on the settlement service's /metrics (the series start at 0).
    const metrics = await (
      await fetch(`http://127.0.0.1:${h.platform.process('settlement').port}/metrics`)
    ).text();
    for (const outcome of ['started', 'completed']) {
      const line = new RegExp(
        `^clearline_settlement_runs_total\\{[^}]*outcome="${outcome}"[^}]*\\} (\\d+)$`,
        'm',
      );
      expect({ outcome, runs: Number(line.exec(metrics)?.[1] ?? 0) }).toEqual({ outcome, runs: 1 });
    }

    // fees: 10,000 → 290 + 30; 2,000 → 58 + 30; 999 → 29 (28.971 half up) + 30.
    const [settlement] = await settlementsOf(h.db, shop);
    expect(settlement).toMatchObject({
      currency: 'usd',
      count: 4,
      gross: '12999',
      refunds: '500',
      fees: '467',
      net: '12032',
      to_available: '12032',
      fees_owed_out: '0',
      status: 'settled',
    });
    const payout = await eventually(async () => {
      const [row] = await h.db.query<{ status: string; amount: string; failure_code: string }>(
        `SELECT status, amount, failure_code FROM payouts WHERE id = $1`,
        [settlement?.payout_id],
      );
      return row?.status === 'pending' ? undefined : row;
    });
    expect(payout).toEqual({ status: 'paid', amount: '12032', failure_code: null });
    const balance = await h.gw.call<{
      available: { amount: number }[];
      pending: { amount: number }[];
    }>('GET', '/v1/balance', { key: shop.api_key });
    expect(balance.status).toBe(200);
    const sum = (lines: { amount: number }[]): number => lines.reduce((s, l) => s + l.amount, 0);
    expect(sum(balance.body.available)).toBe(0);
    expect(sum(balance.body.pending)).toBe(0);

    // What the merchant sees: the settlement, its report, the payout, the events.
    const seen = await h.gw.call<Record<string, unknown>>(
      'GET',
      `/v1/settlements/${settlement?.id}`,
      { key: shop.api_key },
    );
    expect(seen.body).toMatchObject({
      id: settlement?.id,
      object: 'settlement',
      run: run.id,
      currency: 'usd',
      count: 4,
      gross: 12_999,
      refunds: 500,
      fees: 467,
      net: 12_032,
      payout: settlement?.payout_id,
    });
    const report = await h.gw.call('GET', `/v1/settlements/${settlement?.id}/report`, {
      key: shop.api_key,
    });
    expect(report.status).toBe(200);
    const lines = report.text.trim().split('\n');
    expect(lines[0]).toBe('type,id,posted_at,amount,fee,net,currency');
    expect(lines).toHaveLength(6);
    expect(lines[5]).toBe(`total,${settlement?.id},,12499,467,12032,usd`);
    const paidOut = await h.gw.call<Record<string, unknown>>(
      'GET',
      `/v1/payouts/${settlement?.payout_id}`,
      { key: shop.api_key },
    );
    expect(paidOut.body).toMatchObject({
      object: 'payout',
      amount: 12_032,
      currency: 'usd',
      status: 'paid',
      settlement: settlement?.id,
    });
    await eventually(async () => {
      const events = await h.gw.call<{ data: { type: string }[] }>('GET', '/v1/events?limit=50', {
        key: shop.api_key,
      });
      const types = events.body.data.map((event) => event.type);
      return types.includes('settlement.completed') && types.includes('payout.paid');
    });

    const again = await h.startRun(cutOff);
    expect(again).toMatchObject({ id: run.id, is_new: false, status: 'completed' });
    expect(await settlementsOf(h.db, shop)).toHaveLength(1);

    // A later run settles only what came after.
    await h.captured(shop, 5_000);
    const later = await h.startRun(await h.cutOffNow());
    expect((await h.runEnded(later.id)).status).toBe('completed');
    const settlements = await settlementsOf(h.db, shop);
    expect(settlements).toHaveLength(2);
    expect(settlements[1]).toMatchObject({ count: 1, gross: '5000', fees: '175', net: '4825' });
  });
});
