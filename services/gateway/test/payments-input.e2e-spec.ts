/**
 * POST /v1/payments refuses every class of bad input with a clean 400 (nothing is
 * created, and the Idempotency-Key stays free), and is idempotent: the same key and
 * body replay the first answer (also a 202, with its Location, or a 402), another body
 * is 422, a retry while the first still runs is 409, and only one payment (one ledger
 * authorization) exists.
 *
 * How: raw requests through HTTP against the real gateway and ledger (harness). A
 * request is kept "still running" by the test: it holds the merchant's ledger account
 * locked, so the payment cannot reach the ledger until the retries have been answered,
 * however slow the machine. Rows are counted in the database to prove what ran.
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { merchantAccountId } from '@clearline/contracts';
import { eventually } from '@clearline/testing';
import { DataSource } from 'typeorm';
import type { CreatedMerchant, ErrorReply } from './gateway-harness';
import { card, startPayments, type PaymentsHarness } from './payments-harness';

describe('payments: input and idempotency', () => {
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

  afterEach(() => h.expectBalanced());

  /**
   * Locks `m`'s pending USD ledger account (once the ledger has opened it) until the
   * returned release: its payments wait at the ledger, their requests still running.
   */
  const holdLedger = async (m: CreatedMerchant): Promise<() => Promise<void>> => {
    const account = merchantAccountId(m.id, 'pending', 'usd');
    await eventually(
      async () =>
        (await db.query<unknown[]>(`SELECT 1 FROM ledger_accounts WHERE id = $1`, [account]))
          .length === 1,
      { what: `the ledger to open ${m.id}` },
    );
    const lock = new Client({ connectionString: h.gw.infra.databaseUrl });
    await lock.connect();
    await lock.query('BEGIN');
    await lock.query(`SELECT id FROM ledger_accounts WHERE id = $1 FOR UPDATE`, [account]);
    return async () => {
      await lock.query('ROLLBACK');
      await lock.end();
    };
  };

  /** Whether the request with this Idempotency-Key has claimed it and is still running. */
  const claimed = async (m: CreatedMerchant, key: string): Promise<boolean> =>
    (
      await db.query<unknown[]>(
        `SELECT 1 FROM idempotency_keys WHERE scope = $1 AND key = $2 AND state = 'in_progress'`,
        [m.id, key],
      )
    ).length === 1;

  const paymentsOf = async (m: CreatedMerchant): Promise<number> => {
    const [row] = await db.query<[{ n: number }]>(
      `SELECT count(*)::int AS n FROM payments WHERE merchant_id = $1`,
      [m.id],
    );
    return row.n;
  };

  describe('bad input', () => {
    const metadata = (keys: number, keyLength = 5, valueLength = 5): Record<string, string> =>
      Object.fromEntries(
        Array.from({ length: keys }, (_, i) => [
          `${i}`.padStart(keyLength, 'k'),
          'v'.repeat(valueLength),
        ]),
      );

    it.each([
      ['an unknown field', { ...card(), colour: 'red' }, 'parameter_unknown', 'colour'],
      ['status mass-assigned', { ...card(), status: 'succeeded' }, 'parameter_unknown', 'status'],
      ['a float amount', card('tok_visa', { amount: 10.5 }), 'parameter_invalid', 'amount'],
      ['a string amount', card('tok_visa', { amount: '1000' }), 'parameter_invalid', 'amount'],
      ['a zero amount', card('tok_visa', { amount: 0 }), 'parameter_invalid', 'amount'],
      ['a negative amount', card('tok_visa', { amount: -5 }), 'parameter_invalid', 'amount'],
      [
        'too large an amount',
        card('tok_visa', { amount: 100_000_000 }),
        'amount_too_large',
        'amount',
      ],
      ['a huge amount', card('tok_visa', { amount: 1e300 }), 'amount_too_large', 'amount'],
      ['no amount', { currency: 'usd', source: 'tok_visa' }, 'parameter_missing', 'amount'],
      [
        'an upper-case currency',
        card('tok_visa', { currency: 'USD' }),
        'parameter_invalid',
        'currency',
      ],
      [
        'an unknown currency',
        card('tok_visa', { currency: 'xyz' }),
        'parameter_invalid',
        'currency',
      ],
      ['no source', { amount: 100, currency: 'usd' }, 'parameter_missing', 'source'],
      ['a card number as source', card('4242424242424242'), 'parameter_invalid', 'source'],
      [
        'a bad capture_method',
        card('tok_visa', { capture_method: 'later' }),
        'parameter_invalid',
        'capture_method',
      ],
      [
        '51 metadata keys',
        card('tok_visa', { metadata: metadata(51) }),
        'parameter_invalid',
        'metadata',
      ],
      [
        'a 41-character metadata key',
        card('tok_visa', { metadata: metadata(1, 41) }),
        'parameter_invalid',
        'metadata',
      ],
      [
        'a 501-character metadata value',
        card('tok_visa', { metadata: metadata(1, 5, 501) }),
        'parameter_invalid',
        'metadata',
      ],
      [
        'a nested metadata value',
        card('tok_visa', { metadata: { a: { b: 'c' } } }),
        'parameter_invalid',
        'metadata',
      ],
      [
        'metadata as an array',
        card('tok_visa', { metadata: ['a'] }),
        'parameter_invalid',
        'metadata',
      ],
      [
        'a number as description',
        card('tok_visa', { description: 5 }),
        'parameter_invalid',
        'description',
      ],
    ])('answers 400 for %s', async (_what, body, code, param) => {
      const key = randomUUID();
      const reply = await h.pay(merchant, body, { idempotencyKey: key });
      expect(reply.status).toBe(400);
      expect(reply.body.error).toEqual({
        type: 'invalid_request_error',
        code,
        message: expect.any(String) as unknown,
        param,
      });
      // Refused before it ran: the key is free for a corrected request.
      expect((await h.pay(merchant, card(), { idempotencyKey: key })).status).toBe(200);
    });

    it('accepts metadata at the limits', async () => {
      const reply = await h.pay(merchant, card('tok_visa', { metadata: metadata(50, 40, 500) }));
      expect(reply.status).toBe(200);
      expect(Object.keys(reply.body.metadata)).toHaveLength(50);
    });

    it('answers 400 for malformed JSON and 413 for a huge body, creating nothing', async () => {
      const before = await paymentsOf(merchant);
      for (const raw of ['{"amount": 100,', '{amount: 100}', '[1]']) {
        const reply = await h.pay(merchant, {}, { raw });
        expect(reply.status).toBe(400);
        expect(['body_malformed', 'parameter_invalid']).toContain(reply.body.error.code);
      }
      const huge = await h.pay(
        merchant,
        {},
        {
          raw: JSON.stringify(card('tok_visa', { description: 'x'.repeat(200_000) })),
        },
      );
      expect(huge.status).toBe(413);
      expect(huge.body.error.code).toBe('body_too_large');
      expect(await paymentsOf(merchant)).toBe(before);
    });

    it('answers 401 without a key, and the admin key is not a merchant key', async () => {
      expect((await h.pay(merchant, card(), { key: null })).status).toBe(401);
      expect((await h.pay(merchant, card(), { key: h.gw.adminKey })).status).toBe(401);
    });
  });

  describe('idempotency', () => {
    it('replays the first answer for the same key and body, without a second payment', async () => {
      const shop = await h.gw.createMerchant();
      const key = randomUUID();
      const first = await h.pay(shop, card(), { idempotencyKey: key });
      expect(first.status).toBe(200);
      const again = await h.pay(shop, card(), { idempotencyKey: key });
      expect(again.status).toBe(200);
      expect(again.text).toBe(first.text);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(await paymentsOf(shop)).toBe(1);
    });

    it('replays a 402 decline as it was', async () => {
      const key = randomUUID();
      const first = await h.pay(merchant, card('tok_chargeDeclined'), { idempotencyKey: key });
      expect(first.status).toBe(402);
      const again = await h.pay(merchant, card('tok_chargeDeclined'), { idempotencyKey: key });
      expect(again.status).toBe(402);
      expect(again.text).toBe(first.text);
    });

    it('replays a 202 as a 202 with its Location, even once the payment has completed', async () => {
      const key = randomUUID();
      const options = { idempotencyKey: key, headers: { prefer: 'respond-async' } };
      const first = await h.pay(merchant, card(), options);
      expect(first.status).toBe(202);
      expect(first.headers.get('location')).toBe(`/v1/payments/${first.body.id}`);
      await h.until(merchant, first.body.id, 'succeeded');
      const again = await h.pay(merchant, card(), options);
      expect(again.status).toBe(202);
      expect(again.text).toBe(first.text);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.headers.get('location')).toBe(`/v1/payments/${first.body.id}`);
      // GET shows the outcome.
      expect((await h.get(merchant, first.body.id)).body.status).toBe('succeeded');
    });

    it('answers 422 idempotency_error for the same key with another body', async () => {
      const key = randomUUID();
      expect((await h.pay(merchant, card(), { idempotencyKey: key })).status).toBe(200);
      const other = await h.pay(merchant, card('tok_visa', { amount: 2_001 }), {
        idempotencyKey: key,
      });
      expect(other.status).toBe(422);
      expect(other.body.error).toMatchObject({
        type: 'idempotency_error',
        code: 'idempotency_error',
      });
    });

    it('answers 409 to a retry while the first request still runs, and makes one payment', async () => {
      const shop = await h.gw.createMerchant();
      const key = randomUUID();
      const release = await holdLedger(shop);
      let first;
      try {
        first = h.pay(shop, card(), { idempotencyKey: key });
        await eventually(() => claimed(shop, key), { what: 'the first request to claim the key' });
        const concurrent = await h.pay(shop, card(), { idempotencyKey: key });
        expect(concurrent.status).toBe(409);
        expect((concurrent.body as ErrorReply).error.code).toBe('idempotency_key_in_use');
      } finally {
        await release();
      }
      const done = await first;
      expect(done.status).toBe(200);
      const after = await h.pay(shop, card(), { idempotencyKey: key });
      expect(after.headers.get('idempotent-replayed')).toBe('true');
      expect(await paymentsOf(shop)).toBe(1);
      const [auth] = await db.query<[{ n: number }]>(
        `SELECT count(*)::int AS n FROM ledger_transfers WHERE id LIKE $1`,
        [`${done.body.id}:%`],
      );
      expect(auth.n).toBe(2);
    });

    it('lets exactly one of many simultaneous requests with one key run', async () => {
      const shop = await h.gw.createMerchant();
      const key = randomUUID();
      const release = await holdLedger(shop);
      const answered: number[] = [];
      let replies;
      try {
        replies = Array.from({ length: 6 }, () =>
          h.pay(shop, card(), { idempotencyKey: key }).then((reply) => {
            answered.push(reply.status);
            return reply;
          }),
        );
        // Five are refused while the sixth is held at the ledger.
        await eventually(() => answered.length === 5, { what: 'five answers' });
        expect(answered).toEqual([409, 409, 409, 409, 409]);
      } finally {
        await release();
      }
      const statuses = (await Promise.all(replies)).map((reply) => reply.status).sort();
      expect(statuses).toEqual([200, 409, 409, 409, 409, 409]);
      expect(await paymentsOf(shop)).toBe(1);
    });

    it('scopes keys per merchant', async () => {
      const a = await h.gw.createMerchant();
      const b = await h.gw.createMerchant();
      const key = randomUUID();
      const first = await h.pay(a, card(), { idempotencyKey: key });
      const second = await h.pay(b, card(), { idempotencyKey: key });
      expect([first.status, second.status]).toEqual([200, 200]);
      expect(second.body.id).not.toBe(first.body.id);
    });

    it('makes capture idempotent too: a retried capture replays, a second capture is refused', async () => {
      const payment = (await h.pay(merchant, card('tok_visa', { capture_method: 'manual' }))).body;
      const key = randomUUID();
      const body = { amount_to_capture: 500 };
      const first = await h.act(merchant, payment.id, 'capture', body, { idempotencyKey: key });
      const again = await h.act(merchant, payment.id, 'capture', body, { idempotencyKey: key });
      expect([first.status, again.status]).toEqual([200, 200]);
      expect(again.text).toBe(first.text);
      const fresh = await h.act(merchant, payment.id, 'capture', body, {
        idempotencyKey: randomUUID(),
      });
      expect(fresh.body.error.code).toBe('payment_unexpected_state');
    });
  });
});
