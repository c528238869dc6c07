/**
 * The gateway's settlement API: the operators' runs, the merchants' settlements, their
 * CSV reports and payouts, and the events settlement sends (`gateway.settlement_event`).
 * Merchants see only their own settled settlements (another merchant's id, or one still
 * `posting`, answers 404, as an id or as a list cursor), lists page as payments do, a
 * report has one line per item in posting order and a totals line that adds up, a
 * settlement event is recorded once however often its task comes, and a run request
 * answers 400 for a cut-off in the future and 503 when no settlement worker answers.
 *
 * How: the production gateway in this process (startGateway) on its own vhost and
 * database, with a short SETTLEMENT_RUN_WAIT_MS and no settlement service running. The
 * settlement tables (the settlement service's) are seeded by SQL; the event task is
 * sent through the broker with the gateway's TaskClient; everything else goes over HTTP.
 */
import { TaskClient, TaskFailedError } from '@clearline/tasks';
import { connectDatabase, eventually, type TestDatabase } from '@clearline/testing';
import {
  matching,
  startGateway,
  type CreatedMerchant,
  type ErrorReply,
  type GatewayHarness,
} from './gateway-harness';

interface ListReply<T> {
  object: 'list';
  url: string;
  has_more: boolean;
  data: T[];
}

interface SettlementObject {
  id: string;
  object: 'settlement';
  [field: string]: unknown;
}

interface EventObject {
  id: string;
  type: string;
  data: { object: Record<string, unknown> };
}

/** Unix seconds of an ISO time, as the API writes times. */
const unix = (iso: string): number => Math.floor(Date.parse(iso) / 1_000);

const RUN = 'srun_seededRun0000000000001';
const BIG_ITEMS = 2_500;

describe('settlement API', () => {
  let gw: GatewayHarness;
  let db: TestDatabase;
  let tasks: TaskClient;
  let shop: CreatedMerchant;
  let other: CreatedMerchant;
  // The seeded objects' ids, per merchant.
  const ids = {
    usd: 'stl_shopUsd000000000000001',
    eur: 'stl_shopEur000000000000001',
    big: 'stl_shopBig000000000000001',
    posting: 'stl_shopPosting0000000001',
    others: 'stl_otherUsd00000000000001',
    paid: 'po_shopPaid00000000000001',
    failed: 'po_shopFailed000000000001',
    postingPayout: 'po_shopPosting0000000001',
    othersPayout: 'po_otherPaid0000000000001',
  };

  const merchantGet = <T>(merchant: CreatedMerchant, path: string) =>
    gw.call<T>('GET', path, { key: merchant.api_key });

  async function seed(): Promise<void> {
    await db.query(
      `INSERT INTO settlement_runs (id, cut_off, status, merchants, created_at, completed_at)
       VALUES ($1, '2026-01-02T00:00:00Z', 'completed', 2, '2026-01-02T00:00:05Z',
               '2026-01-02T00:00:09Z')`,
      [RUN],
    );
    const settlement = `INSERT INTO settlements (id, run_id, merchant_id, currency, status, attempt,
        count, gross, refunds, fees, net, fees_owed_in, fees_collected, fees_owed_out,
        to_available, created_at)
      VALUES ($1, '${RUN}', $2, $3, $4, 1, $5, $6, $7, $8, $6::bigint - $7::bigint - $8::bigint,
              $9, $10, $11, $12, $13)`;
    // usd: two payments and a refund; fees 59 + 30, nothing owed.
    await db.query(settlement, [
      ids.usd,
      shop.id,
      'usd',
      'settled',
      3,
      3000,
      500,
      89,
      0,
      89,
      0,
      2411,
      '2026-01-02T00:00:06Z',
    ]);
    // eur: refunds above captures: a negative net, its fee carried forward.
    await db.query(settlement, [
      ids.eur,
      shop.id,
      'eur',
      'settled',
      2,
      1000,
      1500,
      59,
      20,
      0,
      79,
      0,
      '2026-01-02T00:00:07Z',
    ]);
    // big: many items, to see the report streamed whole and in order.
    await db.query(settlement, [
      ids.big,
      shop.id,
      'jpy',
      'settled',
      BIG_ITEMS,
      BIG_ITEMS * 100,
      0,
      BIG_ITEMS * 3,
      0,
      BIG_ITEMS * 3,
      0,
      BIG_ITEMS * 97,
      '2026-01-02T00:00:08Z',
    ]);
    await db.query(settlement, [
      ids.posting,
      shop.id,
      'gbp',
      'posting',
      1,
      700,
      0,
      20,
      0,
      20,
      0,
      680,
      '2026-01-02T00:00:09Z',
    ]);
    await db.query(settlement, [
      ids.others,
      other.id,
      'usd',
      'settled',
      1,
      900,
      0,
      26,
      0,
      26,
      0,
      874,
      '2026-01-02T00:00:06Z',
    ]);
    await db.query(`UPDATE settlements SET payout_id = $2 WHERE id = $1`, [ids.usd, ids.paid]);

    const item = `INSERT INTO settlement_items
        (transfer_id, settlement_id, kind, object_id, amount, fee, funded_from, posted_at)
      VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)`;
    // Inserted out of order: the report orders by (posted_at, transfer_id).
    await db.query(item, [
      'tr_3',
      ids.usd,
      'refund',
      're_shop1',
      500,
      0,
      '2026-01-01T12:00:00.250Z',
    ]);
    await db.query(item, [
      'tr_2',
      ids.usd,
      'payment',
      'pay_shop2',
      1000,
      30,
      '2026-01-01T12:00:00.250Z',
    ]);
    await db.query(item, [
      'tr_1',
      ids.usd,
      'payment',
      'pay_shop1',
      2000,
      59,
      '2026-01-01T09:30:00Z',
    ]);
    await db.query(
      `INSERT INTO settlement_items
         (transfer_id, settlement_id, kind, object_id, amount, fee, funded_from, posted_at)
       SELECT 'trbig_' || lpad(n::text, 5, '0'), $1, 'payment', 'pay_big' || n, 100, 3, 'pending',
              timestamptz '2026-01-01T00:00:00Z' + n * interval '1 millisecond'
         FROM generate_series(1, $2::int) AS n`,
      [ids.big, BIG_ITEMS],
    );

    const payout = `INSERT INTO payouts (id, merchant_id, currency, amount, status, settlement_id,
        failure_code, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`;
    await db.query(payout, [
      ids.paid,
      shop.id,
      'usd',
      2411,
      'paid',
      ids.usd,
      null,
      '2026-01-02T00:00:10Z',
    ]);
    await db.query(payout, [
      ids.failed,
      shop.id,
      'jpy',
      BIG_ITEMS * 97,
      'failed',
      ids.big,
      'account_closed',
      '2026-01-02T00:00:11Z',
    ]);
    await db.query(payout, [
      ids.postingPayout,
      shop.id,
      'gbp',
      680,
      'pending',
      ids.posting,
      null,
      '2026-01-02T00:00:12Z',
    ]);
    await db.query(payout, [
      ids.othersPayout,
      other.id,
      'usd',
      874,
      'paid',
      ids.others,
      null,
      '2026-01-02T00:00:10Z',
    ]);
  }

  beforeAll(async () => {
    gw = await startGateway({ SETTLEMENT_RUN_WAIT_MS: '500' });
    db = connectDatabase(gw.infra.databaseUrl);
    tasks = gw.app.get(TaskClient);
    shop = await gw.createMerchant();
    other = await gw.createMerchant();
    await seed();
  });

  afterAll(async () => {
    await db.close();
    await gw.close();
  });

  describe('settlement runs (operators)', () => {
    it('shows a run, and 404 for an unknown one', async () => {
      const reply = await gw.call('GET', `/v1/admin/settlement_runs/${RUN}`);
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({
        id: RUN,
        object: 'settlement_run',
        cut_off: unix('2026-01-02T00:00:00Z'),
        status: 'completed',
        merchants: 2,
        created: unix('2026-01-02T00:00:05Z'),
        completed: unix('2026-01-02T00:00:09Z'),
      });
      const missing = await gw.call<ErrorReply>('GET', '/v1/admin/settlement_runs/srun_nope');
      expect(missing.status).toBe(404);
      expect(missing.body.error).toMatchObject({
        type: 'invalid_request_error',
        code: 'resource_missing',
      });
      const asMerchant = await merchantGet(shop, `/v1/admin/settlement_runs/${RUN}`);
      expect(asMerchant.status).toBe(401);
    });

    it('refuses a cut-off in the future, a fraction, a negative, a string and null', async () => {
      const future = Math.floor(Date.now() / 1_000) + 3_600;
      for (const cutOff of [future, 1.5, -1, '1767225600', null]) {
        const reply = await gw.call<ErrorReply>('POST', '/v1/admin/settlement_runs', {
          body: { cut_off: cutOff },
        });
        expect({ cutOff, status: reply.status }).toEqual({ cutOff, status: 400 });
        expect(reply.body.error).toMatchObject({
          type: 'invalid_request_error',
          code: 'parameter_invalid',
          param: 'cut_off',
        });
      }
      const unknown = await gw.call<ErrorReply>('POST', '/v1/admin/settlement_runs', {
        body: { cutoff: 1 },
      });
      expect(unknown.body.error).toMatchObject({ code: 'parameter_unknown', param: 'cutoff' });
    });

    it('answers 503 with Retry-After when no settlement worker answers in time', async () => {
      const reply = await gw.call<ErrorReply>('POST', '/v1/admin/settlement_runs', {
        body: { cut_off: unix('2026-01-03T00:00:00Z') },
        idempotencyKey: 'run-2026-01-03',
      });
      expect(reply.status).toBe(503);
      expect(reply.headers.get('retry-after')).toBe('2');
      expect(reply.body.error).toMatchObject({ type: 'api_error', code: 'service_unavailable' });
    });
  });

  describe('settlements (merchants)', () => {
    it('shows a settlement with its payout and carried fees', async () => {
      const reply = await merchantGet(shop, `/v1/settlements/${ids.usd}`);
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({
        id: ids.usd,
        object: 'settlement',
        run: RUN,
        currency: 'usd',
        count: 3,
        gross: 3000,
        refunds: 500,
        fees: 89,
        net: 2411,
        payout: ids.paid,
        fees_carried_in: 0,
        fees_carried_out: 0,
        created: unix('2026-01-02T00:00:06Z'),
      });
      const negative = await merchantGet(shop, `/v1/settlements/${ids.eur}`);
      expect(negative.body).toMatchObject({
        net: -559,
        payout: null,
        fees_carried_in: 20,
        fees_carried_out: 79,
      });
    });

    it("answers 404 for another merchant's settlement and for one still posting", async () => {
      for (const id of [ids.others, ids.posting, 'stl_nope']) {
        const reply = await merchantGet<ErrorReply>(shop, `/v1/settlements/${id}`);
        expect({ id, status: reply.status }).toEqual({ id, status: 404 });
        expect(reply.body.error).toMatchObject({ code: 'resource_missing', param: 'id' });
        const report = await merchantGet<ErrorReply>(shop, `/v1/settlements/${id}/report`);
        expect({ id, status: report.status }).toEqual({ id, status: 404 });
        expect(report.body.error.code).toBe('resource_missing');
      }
      expect((await merchantGet(other, `/v1/settlements/${ids.others}`)).status).toBe(200);
    });

    it('lists settled settlements newest first, page by page, as payments do', async () => {
      const all = await merchantGet<ListReply<SettlementObject>>(shop, '/v1/settlements');
      expect(all.status).toBe(200);
      expect(all.body).toMatchObject({ object: 'list', url: '/v1/settlements', has_more: false });
      expect(all.body.data.map((s) => s.id)).toEqual([ids.big, ids.eur, ids.usd]);

      const first = await merchantGet<ListReply<SettlementObject>>(shop, '/v1/settlements?limit=2');
      expect(first.body.data.map((s) => s.id)).toEqual([ids.big, ids.eur]);
      expect(first.body.has_more).toBe(true);
      const next = await merchantGet<ListReply<SettlementObject>>(
        shop,
        `/v1/settlements?limit=2&starting_after=${ids.eur}`,
      );
      expect(next.body.data.map((s) => s.id)).toEqual([ids.usd]);
      expect(next.body.has_more).toBe(false);
      const back = await merchantGet<ListReply<SettlementObject>>(
        shop,
        `/v1/settlements?limit=1&ending_before=${ids.usd}`,
      );
      expect(back.body.data.map((s) => s.id)).toEqual([ids.eur]);
      expect(back.body.has_more).toBe(true);

      for (const cursor of [ids.others, ids.posting]) {
        const foreign = await merchantGet<ErrorReply>(
          shop,
          `/v1/settlements?starting_after=${cursor}`,
        );
        expect(foreign.status).toBe(404);
        expect(foreign.body.error).toMatchObject({
          code: 'resource_missing',
          param: 'starting_after',
        });
      }
      const badLimit = await merchantGet<ErrorReply>(shop, '/v1/settlements?limit=101');
      expect(badLimit.status).toBe(400);
      expect(badLimit.body.error).toMatchObject({ code: 'parameter_invalid', param: 'limit' });
    });
  });

  describe('reports', () => {
    it('lists each item in posting order, then totals that add up', async () => {
      const reply = await merchantGet<string>(shop, `/v1/settlements/${ids.usd}/report`);
      expect(reply.status).toBe(200);
      expect(reply.headers.get('content-type')).toMatch(/^text\/csv/);
      expect(reply.text).toBe(
        [
          'type,id,posted_at,amount,fee,net,currency',
          'payment,pay_shop1,2026-01-01T09:30:00.000Z,2000,59,1941,usd',
          'payment,pay_shop2,2026-01-01T12:00:00.250Z,1000,30,970,usd',
          'refund,re_shop1,2026-01-01T12:00:00.250Z,500,0,-500,usd',
          `total,${ids.usd},,2500,89,2411,usd`,
          '',
        ].join('\n'),
      );
    });

    it('streams a large report whole, in order, its lines summing to the totals', async () => {
      const reply = await merchantGet<string>(shop, `/v1/settlements/${ids.big}/report`);
      expect(reply.status).toBe(200);
      const lines = reply.text.trimEnd().split('\n');
      expect(lines).toHaveLength(BIG_ITEMS + 2);
      expect(lines[1]).toBe('payment,pay_big1,2026-01-01T00:00:00.001Z,100,3,97,jpy');
      expect(lines[BIG_ITEMS]).toBe(
        `payment,pay_big${BIG_ITEMS},2026-01-01T00:00:02.500Z,100,3,97,jpy`,
      );
      const rows = lines.slice(1, -1).map((line) => line.split(','));
      const sum = (column: number) => rows.reduce((total, row) => total + Number(row[column]), 0);
      expect(lines[lines.length - 1]).toBe(`total,${ids.big},,${sum(3)},${sum(4)},${sum(5)},jpy`);
      expect(sum(5)).toBe(BIG_ITEMS * 97);
    });
  });

  it('gives its database connection back when the client goes away mid-report', async () => {
    // More abandoned reports than the gateway's pool holds (20): a leak would starve it.
    for (let i = 0; i < 25; i += 1) {
      const controller = new AbortController();
      const response = await fetch(`${gw.baseUrl}/v1/settlements/${ids.big}/report`, {
        headers: { authorization: `Bearer ${shop.api_key}` },
        signal: controller.signal,
      });
      expect(response.status).toBe(200);
      controller.abort();
    }
    await eventually(
      async () =>
        (
          await db.query(
            `SELECT 1 FROM pg_stat_activity
              WHERE datname = current_database() AND query LIKE 'COPY (%' AND state <> 'idle'`,
          )
        ).length === 0,
      { what: 'no report still copying' },
    );
    const whole = await merchantGet<string>(shop, `/v1/settlements/${ids.usd}/report`);
    expect(whole.status).toBe(200);
    expect(whole.text.trimEnd().split('\n')).toHaveLength(5);
  });

  describe('payouts (merchants)', () => {
    it('shows a payout, a failed one with its code, and 404 for others', async () => {
      const paid = await merchantGet(shop, `/v1/payouts/${ids.paid}`);
      expect(paid.status).toBe(200);
      expect(paid.body).toEqual({
        id: ids.paid,
        object: 'payout',
        amount: 2411,
        currency: 'usd',
        status: 'paid',
        settlement: ids.usd,
        failure_code: null,
        created: unix('2026-01-02T00:00:10Z'),
      });
      const failed = await merchantGet(shop, `/v1/payouts/${ids.failed}`);
      expect(failed.body).toMatchObject({ status: 'failed', failure_code: 'account_closed' });
      for (const id of [ids.othersPayout, ids.postingPayout]) {
        const reply = await merchantGet<ErrorReply>(shop, `/v1/payouts/${id}`);
        expect({ id, status: reply.status }).toEqual({ id, status: 404 });
      }
    });

    it('lists payouts newest first, page by page', async () => {
      const all = await merchantGet<ListReply<{ id: string }>>(shop, '/v1/payouts');
      expect(all.body).toMatchObject({ object: 'list', url: '/v1/payouts', has_more: false });
      expect(all.body.data.map((p) => p.id)).toEqual([ids.failed, ids.paid]);
      const page = await merchantGet<ListReply<{ id: string }>>(shop, '/v1/payouts?limit=1');
      expect(page.body.data.map((p) => p.id)).toEqual([ids.failed]);
      expect(page.body.has_more).toBe(true);
      const next = await merchantGet<ListReply<{ id: string }>>(
        shop,
        `/v1/payouts?limit=1&starting_after=${ids.failed}`,
      );
      expect(next.body.data.map((p) => p.id)).toEqual([ids.paid]);
      expect(next.body.has_more).toBe(false);
      const foreign = await merchantGet<ErrorReply>(
        shop,
        `/v1/payouts?starting_after=${ids.othersPayout}`,
      );
      expect(foreign.status).toBe(404);
    });
  });

  describe('settlement events', () => {
    const eventsOf = async (type: string): Promise<EventObject[]> =>
      (await merchantGet<ListReply<EventObject>>(shop, `/v1/events?type=${type}`)).body.data;

    it('records settlement.completed once, with the settlement as the API shows it', async () => {
      const payload = { type: 'settlement.completed', merchant_id: shop.id, object_id: ids.usd };
      const first = await tasks.send<{ event_id: string; recorded: boolean }>(
        'gateway.settlement_event',
        payload,
      );
      const result = await first.result();
      expect(result).toEqual({
        event_id: matching(/^evt_[A-Za-z0-9]{24}$/),
        recorded: true,
      });
      // In the batch lane.
      const task = await gw.call<{ queue: string }>('GET', `/v1/admin/tasks/${first.id}`);
      expect(task.body.queue).toBe('gateway.batch');

      // A repeat (another task id) and a redelivery (the same id) record nothing new.
      const again = await tasks.send('gateway.settlement_event', payload);
      await expect(again.result()).resolves.toEqual({ event_id: result.event_id, recorded: false });
      const events = await eventsOf('settlement.completed');
      expect(events.map((e) => e.id)).toEqual([result.event_id]);
      const settlement = await merchantGet(shop, `/v1/settlements/${ids.usd}`);
      expect(events[0]?.data.object).toEqual(settlement.body);
      const one = await merchantGet(shop, `/v1/events/${result.event_id}`);
      expect(one.status).toBe(200);
      expect((await merchantGet(other, `/v1/events/${result.event_id}`)).status).toBe(404);
    });

    it('records payout.paid and payout.failed with the payout', async () => {
      for (const [type, id] of [
        ['payout.paid', ids.paid],
        ['payout.failed', ids.failed],
      ] as const) {
        const handle = await tasks.send('gateway.settlement_event', {
          type,
          merchant_id: shop.id,
          object_id: id,
        });
        await handle.result();
        const [event] = await eventsOf(type);
        expect(event?.data.object).toEqual((await merchantGet(shop, `/v1/payouts/${id}`)).body);
      }
    });

    it('fails the task for an object of the wrong kind or of another merchant', async () => {
      for (const payload of [
        { type: 'settlement.completed', merchant_id: shop.id, object_id: ids.paid },
        { type: 'payout.paid', merchant_id: shop.id, object_id: ids.othersPayout },
        { type: 'settlement.completed', merchant_id: shop.id, object_id: ids.posting },
      ]) {
        const handle = await tasks.send('gateway.settlement_event', payload);
        await expect(handle.result()).rejects.toBeInstanceOf(TaskFailedError);
      }
      expect(await eventsOf('payout.paid')).toHaveLength(1);
    });
  });
});
