/**
 * Hostile input through HTTP: every request below gets a 400 with the error object,
 * never a 5xx, and changes nothing (no payment, no refund, the Idempotency-Key stays
 * free to use). A value that looks like a card number is never echoed back.
 *
 * How: raw requests against the real gateway and ledger (payments harness); rows are
 * counted in the database.
 */
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { CreatedMerchant, ErrorReply } from './gateway-harness';
import { card, startPayments, type PaymentsHarness } from './payments-harness';

describe('hostile input', () => {
  let h: PaymentsHarness;
  let merchant: CreatedMerchant;
  let db: DataSource;

  beforeAll(async () => {
    h = await startPayments();
    merchant = await h.gw.createMerchant();
    db = h.gw.db;
  });

  afterAll(async () => {
    await h.close();
  });

  const count = async (table: 'payments' | 'refunds' | 'idempotency_keys'): Promise<number> => {
    const [row] = await db.query<[{ n: number }]>(
      `SELECT count(*)::int AS n FROM ${table} WHERE merchant_id = $1`,
      [merchant.id],
    );
    return row.n;
  };

  const post = (path: string, raw: string, idempotencyKey?: string) =>
    h.gw.call<ErrorReply>('POST', path, {
      key: merchant.api_key,
      raw,
      ...(idempotencyKey ? { idempotencyKey } : {}),
    });

  it('answers 400 for a body nested 20,000 arrays deep, with an Idempotency-Key', async () => {
    const before = await count('payments');
    const raw = `{"amount":100,"currency":"usd","source":"tok_visa","metadata":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    const reply = await post('/v1/payments', raw, randomUUID());
    expect(reply.status).toBe(400);
    expect(reply.body.error.type).toBe('invalid_request_error');
    expect(await count('payments')).toBe(before);
  });

  it('answers 400 for a refund whose amount is null', async () => {
    const payment = await h.pay(merchant, card());
    expect(payment.status).toBe(200);
    const raw = JSON.stringify({ payment: payment.body.id, amount: null });
    const reply = await post('/v1/refunds', raw);
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatchObject({ type: 'invalid_request_error', param: 'amount' });
    expect(await count('refunds')).toBe(0);
  });

  it('answers 400 for text with a NUL character', async () => {
    const before = await count('payments');
    const raw = JSON.stringify(card('tok_visa', { description: 'a\u0000b' }));
    const reply = await post('/v1/payments', raw, randomUUID());
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatchObject({ param: 'description' });
    expect(await count('payments')).toBe(before);
  });

  it('answers 400 for a card number in a field without echoing it', async () => {
    for (const number of ['4242424242424242', '4242 4242 4242 4242', '4242-4242-4242-4242']) {
      const raw = JSON.stringify({ amount: 100, currency: 'usd', source: number });
      const reply = await post('/v1/payments', raw);
      expect(reply.status).toBe(400);
      expect(reply.text).not.toContain(number);
      expect(reply.text).not.toContain('4242424242424242');
    }
  });
});
