/**
 * Reconciliation of a processor's settlement file, through the operator's REST routes:
 * the sandbox's file of a day lists that day's captured payments and succeeded refunds
 * and reconciles 100% matched; a file with every kind of discrepancy is counted and
 * listed in the exceptions CSV; the same file again answers 200 with the same
 * reconciliation and records nothing (also when both uploads race); a malformed line
 * answers 400 naming the line, a wrong header, an empty body or another content type
 * are refused, and none of them records anything.
 *
 * How: the real gateway (startGateway) on its own database. Payments and refunds with
 * processor references are written by SQL with the `created_at` of the day under test
 * (the references are what the sandbox processor gives; the payment path itself is
 * proven in processor-reference.e2e-spec.ts), so each test owns its UTC days.
 */
import { Client } from 'pg';
import { matching, startGateway, type ErrorReply, type GatewayHarness } from './gateway-harness';

interface ReconciliationReply {
  id: string;
  object: string;
  file_sha256: string;
  lines: number;
  counts: Record<string, number>;
  created: number;
}

const HEADER = 'processor_reference,type,amount,currency,date';
const EXCEPTIONS_HEADER =
  'line,kind,processor_reference,type,amount,currency,date,object_id,our_amount,our_currency';
const NO_DISCREPANCY = {
  matched: 0,
  missing_in_ours: 0,
  missing_in_file: 0,
  amount_mismatch: 0,
  currency_mismatch: 0,
  duplicate_in_file: 0,
};

describe('reconciliations', () => {
  let gw: GatewayHarness;
  let db: Client;
  let merchantId: string;

  beforeAll(async () => {
    gw = await startGateway();
    db = new Client({ connectionString: gw.infra.databaseUrl });
    await db.connect();
    merchantId = (await gw.createMerchant()).id;
  });

  afterAll(async () => {
    await db.end();
    await gw.close();
  });

  /** A payment of ours, captured (`captured` of `amount`) at `createdAt`. */
  const payment = async (
    id: string,
    amount: number,
    currency: string,
    createdAt: string,
    { captured = amount, reference = `ref_${id}` } = {},
  ): Promise<void> => {
    await db.query(
      `INSERT INTO payments (id, merchant_id, amount, currency, status, capture_method,
              amount_capturable, amount_captured, source, processor_reference, created_at)
       VALUES ($1, $2, $3, $4, $5, 'manual', $6, $7, 'tok_visa', $8, $9)`,
      [
        id,
        merchantId,
        amount,
        currency,
        captured > 0 ? 'succeeded' : 'requires_capture',
        captured > 0 ? 0 : amount,
        captured,
        reference,
        createdAt,
      ],
    );
  };

  const refund = async (
    id: string,
    paymentId: string,
    amount: number,
    createdAt: string,
    status: 'succeeded' | 'pending' = 'succeeded',
  ): Promise<void> => {
    await db.query(
      `INSERT INTO refunds (id, merchant_id, payment_id, amount, currency, status,
              processor_reference, created_at)
       VALUES ($1, $2, $3, $4, 'usd', $5, $6, $7)`,
      [
        id,
        merchantId,
        paymentId,
        amount,
        status,
        status === 'succeeded' ? `ref_${id}` : null,
        createdAt,
      ],
    );
  };

  const post = (file: string, contentType = 'text/csv') =>
    gw.call<ReconciliationReply>('POST', '/v1/admin/reconciliations', {
      raw: file,
      headers: { 'content-type': contentType },
    });

  const recorded = async (): Promise<{ reconciliations: number; exceptions: number }> => {
    const { rows } = await db.query<{ reconciliations: number; exceptions: number }>(
      `SELECT (SELECT count(*)::int FROM reconciliations) AS reconciliations,
              (SELECT count(*)::int FROM reconciliation_exceptions) AS exceptions`,
    );
    return rows[0]!;
  };

  it("writes the sandbox's file of a UTC day, which reconciles 100% matched, once", async () => {
    await payment('pay_day1a', 1_000, 'usd', '2026-01-10T00:00:00Z');
    await payment('pay_day1b', 2_500, 'eur', '2026-01-10T12:00:00Z', { captured: 2_000 });
    await payment('pay_day1c', 700, 'jpy', '2026-01-10T23:59:59.999Z');
    await payment('pay_day1held', 900, 'usd', '2026-01-10T13:00:00Z', { captured: 0 });
    await payment('pay_day0', 300, 'usd', '2026-01-09T23:59:59.999Z');
    await payment('pay_day2', 400, 'usd', '2026-01-11T00:00:00Z');
    await refund('re_day1a', 'pay_day1a', 250, '2026-01-10T15:00:00Z');
    await refund('re_day1pending', 'pay_day1a', 100, '2026-01-10T16:00:00Z', 'pending');

    const file = await gw.call('GET', '/v1/admin/sandbox/settlement_file?date=2026-01-10');
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(file.text).toBe(
      [
        HEADER,
        'ref_pay_day1a,charge,1000,USD,2026-01-10',
        'ref_pay_day1b,charge,2000,EUR,2026-01-10',
        'ref_pay_day1c,charge,700,JPY,2026-01-10',
        'ref_re_day1a,refund,250,USD,2026-01-10',
        '',
      ].join('\n'),
    );

    const before = await recorded();
    const first = await post(file.text);
    expect(first.status).toBe(201);
    expect(first.body).toEqual({
      id: matching(/^rec_[A-Za-z0-9]{24}$/),
      object: 'reconciliation',
      file_sha256: matching(/^[0-9a-f]{64}$/),
      lines: 4,
      counts: { ...NO_DISCREPANCY, matched: 4 },
      created: expect.any(Number) as unknown,
    });
    const exceptions = await gw.call(
      'GET',
      `/v1/admin/reconciliations/${first.body.id}/exceptions`,
    );
    expect(exceptions.text).toBe(`${EXCEPTIONS_HEADER}\n`);
    const afterFirst = await recorded();
    expect(afterFirst.reconciliations).toBe(before.reconciliations + 1);

    const again = await post(file.text);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await recorded()).toEqual(afterFirst);
    const retrieved = await gw.call('GET', `/v1/admin/reconciliations/${first.body.id}`);
    expect(retrieved.status).toBe(200);
    expect(retrieved.body).toEqual(first.body);
  });

  it('counts and lists every kind of discrepancy', async () => {
    const day = '2026-02-01T10:00:00Z';
    await payment('pay_ok', 1_000, 'usd', day);
    await payment('pay_amount', 1_000, 'usd', day);
    await payment('pay_currency', 1_000, 'usd', day);
    await payment('pay_twice', 500, 'gbp', day);
    await payment('pay_absent', 800, 'usd', '2026-02-02T23:00:00Z');
    await payment('pay_otherday', 800, 'usd', '2026-02-05T10:00:00Z');
    await refund('re_ok', 'pay_ok', 100, day);
    await refund('re_absent', 'pay_ok', 200, '2026-02-01T20:00:00Z');
    const file = [
      HEADER,
      'ref_pay_ok,charge,1000,USD,2026-02-01', // 2 matched
      'ref_pay_amount,charge,999,USD,2026-02-01', // 3 amount_mismatch
      'ref_pay_currency,charge,1000,EUR,2026-02-01', // 4 currency_mismatch
      'ref_pay_twice,charge,500,gbp,2026-02-01', // 5 matched (currency case aside)
      'ref_unknown,charge,123,USD,2026-02-02', // 6 missing_in_ours
      'ref_pay_twice,charge,500,GBP,2026-02-01', // 7 duplicate_in_file
      'ref_re_ok,refund,100,USD,2026-02-01', // 8 matched
      'ref_pay_ok,refund,1000,USD,2026-02-01', // 9 missing_in_ours: a charge's reference, as a refund
      '',
    ].join('\r\n');

    const reply = await post(file);
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({
      lines: 8,
      counts: {
        matched: 3,
        missing_in_ours: 2,
        missing_in_file: 2,
        amount_mismatch: 1,
        currency_mismatch: 1,
        duplicate_in_file: 1,
      },
    });

    const exceptions = await gw.call(
      'GET',
      `/v1/admin/reconciliations/${reply.body.id}/exceptions`,
    );
    expect(exceptions.status).toBe(200);
    expect(exceptions.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(exceptions.text).toBe(
      [
        EXCEPTIONS_HEADER,
        '3,amount_mismatch,ref_pay_amount,charge,999,USD,2026-02-01,pay_amount,1000,USD',
        '4,currency_mismatch,ref_pay_currency,charge,1000,EUR,2026-02-01,pay_currency,1000,USD',
        '6,missing_in_ours,ref_unknown,charge,123,USD,2026-02-02,,,',
        '7,duplicate_in_file,ref_pay_twice,charge,500,GBP,2026-02-01,pay_twice,500,GBP',
        '9,missing_in_ours,ref_pay_ok,refund,1000,USD,2026-02-01,,,',
        ',missing_in_file,ref_pay_absent,charge,,,2026-02-02,pay_absent,800,USD',
        ',missing_in_file,ref_re_absent,refund,,,2026-02-01,re_absent,200,USD',
        '',
      ].join('\n'),
    );
  });

  it('answers the same file uploaded twice at once with one reconciliation', async () => {
    await payment('pay_race', 4_200, 'usd', '2026-03-01T08:00:00Z');
    const file = `${HEADER}\nref_pay_race,charge,4200,USD,2026-03-01\n`;
    const before = await recorded();
    const replies = await Promise.all([post(file), post(file)]);
    expect(replies.map((reply) => reply.status).sort()).toEqual([200, 201]);
    expect(replies[0].body).toEqual(replies[1].body);
    expect(await recorded()).toEqual({
      reconciliations: before.reconciliations + 1,
      exceptions: before.exceptions,
    });
  });

  it.each([
    ['a missing field', 'ref_x,charge,100,USD', 'expected 5 fields'],
    ['an extra field', 'ref_x,charge,100,USD,2026-04-01,x', 'expected 5 fields'],
    ['an unknown type', 'ref_x,payout,100,USD,2026-04-01', 'type'],
    ['a zero amount', 'ref_x,charge,0,USD,2026-04-01', 'amount'],
    ['a negative amount', 'ref_x,charge,-100,USD,2026-04-01', 'amount'],
    ['a decimal amount', 'ref_x,charge,1.50,USD,2026-04-01', 'amount'],
    ['a bad currency', 'ref_x,charge,100,US,2026-04-01', 'currency'],
    ['an impossible date', 'ref_x,charge,100,USD,2026-02-30', 'date'],
    ['an empty reference', ',charge,100,USD,2026-04-01', 'processor_reference'],
    ['an empty line', '', 'expected 5 fields'],
  ])('refuses %s with 400 naming its line, and records nothing', async (_what, bad, says) => {
    const before = await recorded();
    const file = [HEADER, 'ref_a,charge,100,USD,2026-04-01', bad, 'ref_b,charge,1,USD,2026-04-01'];
    const reply = await post(`${file.join('\n')}\n`);
    expect(reply.status).toBe(400);
    const { error } = reply.body as unknown as ErrorReply;
    expect(error).toEqual({
      type: 'invalid_request_error',
      code: 'csv_malformed',
      message: expect.stringContaining('Line 3 ') as unknown,
      param: null,
    });
    expect(error.message).toContain(says);
    expect(await recorded()).toEqual(before);
  });

  it('refuses a wrong header, an empty body and another content type, recording nothing', async () => {
    const before = await recorded();
    const wrongHeader = await post(
      'reference,type,amount,currency,date\nr,charge,1,USD,2026-04-01\n',
    );
    expect(wrongHeader.status).toBe(400);
    expect((wrongHeader.body as unknown as ErrorReply).error).toMatchObject({
      type: 'invalid_request_error',
      code: 'csv_malformed',
      message: expect.stringContaining('header') as unknown,
    });
    const empty = await post('');
    expect(empty.status).toBe(400);
    expect((empty.body as unknown as ErrorReply).error.code).toBe('csv_malformed');
    const json = await post(`${HEADER}\n`, 'application/json');
    expect(json.status).toBe(400);
    const text = await post(`${HEADER}\n`, 'text/plain');
    expect(text.status).toBe(415);
    expect((text.body as unknown as ErrorReply).error).toMatchObject({
      type: 'invalid_request_error',
      param: null,
    });
    expect(await recorded()).toEqual(before);
  });

  it('answers 404 for an unknown reconciliation and 400 for a bad date', async () => {
    const unknown = await gw.call('GET', '/v1/admin/reconciliations/rec_unknown');
    expect(unknown.status).toBe(404);
    expect((unknown.body as ErrorReply).error).toMatchObject({ code: 'resource_missing' });
    const exceptions = await gw.call('GET', '/v1/admin/reconciliations/rec_unknown/exceptions');
    expect(exceptions.status).toBe(404);
    for (const query of ['?date=2026-13-01', '?date=01/02/2026', '']) {
      const reply = await gw.call('GET', `/v1/admin/sandbox/settlement_file${query}`);
      expect(reply.status).toBe(400);
      expect((reply.body as ErrorReply).error).toMatchObject({
        type: 'invalid_request_error',
        param: 'date',
      });
    }
  });
});
