/**
 * Payments end to end: every sandbox token through POST /v1/payments, the real-time wait
 * and its `Prefer` variants, merchant isolation, the list, the balance, events and
 * webhooks, and the dead letter of a payment whose processor stays down. After every
 * test the ledger must balance. (Capture and cancel: payments-capture.e2e-spec.ts.)
 *
 * How: the real gateway and the real ledger (harness) over RabbitMQ and PostgreSQL,
 * called with fetch. Money is checked where it lives: the balance comes from the ledger,
 * and the ledger's own invariant check runs after each test.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually } from '@clearline/testing';
import { verifySignature } from '../src/webhooks/webhook-signature';
import {
  anyNumber,
  anyString,
  matching,
  type CreatedMerchant,
  type ErrorReply,
} from './gateway-harness';
import { card, startPayments, type Payment, type PaymentsHarness } from './payments-harness';

/** A 402's error object: the payment it names and, for a decline, the issuer's reason. */
type CardError = ErrorReply['error'] & { payment: string; decline_code?: string };

describe('payments', () => {
  let h: PaymentsHarness;
  let merchant: CreatedMerchant;

  beforeAll(async () => {
    // The webhook endpoint below is local: http on 127.0.0.1, which production refuses.
    h = await startPayments({ WEBHOOK_ALLOW_HTTP: '1', WEBHOOK_ALLOW_PRIVATE: '1' });
    merchant = await h.gw.createMerchant();
  });

  afterAll(async () => {
    await h.close();
  });

  afterEach(() => h.expectBalanced());

  describe('tokens', () => {
    it('approves tok_visa with automatic capture: 200 succeeded, the whole Stripe-like object', async () => {
      const reply = await h.pay(
        merchant,
        card('tok_visa', { description: 'Order 1', metadata: { order: '1' } }),
      );
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({
        id: matching(/^pay_[A-Za-z0-9]{24}$/),
        object: 'payment',
        amount: 2_000,
        currency: 'usd',
        status: 'succeeded',
        capture_method: 'automatic',
        amount_capturable: 0,
        amount_captured: 2_000,
        amount_refunded: 0,
        source: 'tok_visa',
        description: 'Order 1',
        metadata: { order: '1' },
        failure_code: null,
        failure_message: null,
        processor_reference: matching(/^sandbox_auth_pay_[A-Za-z0-9]{24}$/),
        created: anyNumber(),
      });
      expect(reply.body.processor_reference).toBe(`sandbox_auth_${reply.body.id}`);
      expect(Math.abs(reply.body.created - Date.now() / 1_000)).toBeLessThan(60);
      expect((await h.get(merchant, reply.body.id)).body).toEqual(reply.body);
    });

    it('approves tok_mastercard', async () => {
      const reply = await h.pay(merchant, card('tok_mastercard'));
      expect(reply.body).toMatchObject({ status: 'succeeded', amount_captured: 2_000 });
    });

    it.each([
      ['tok_chargeDeclined', 'card_declined', 'generic_decline'],
      ['tok_chargeDeclinedInsufficientFunds', 'insufficient_funds', 'insufficient_funds'],
    ])(
      'declines %s: 402 card_error %s naming the payment, and the payment is failed',
      async (source, code, declineCode) => {
        const reply = await h.pay(merchant, card(source));
        expect(reply.status).toBe(402);
        expect(reply.body.error).toEqual({
          type: 'card_error',
          code,
          message: matching(/\(payment pay_[A-Za-z0-9]{24}\)$/),
          param: null,
          payment: matching(/^pay_[A-Za-z0-9]{24}$/),
          decline_code: declineCode,
        });
        const id = (reply.body.error as CardError).payment;
        expect(reply.body.error.message).toContain(id);
        const payment = (await h.get(merchant, id)).body;
        expect(payment).toMatchObject({
          status: 'failed',
          failure_code: code,
          failure_message: anyString(),
          amount_captured: 0,
          amount_capturable: 0,
        });
      },
    );

    it('retries tok_processorUnavailable through transient failures and succeeds', async () => {
      const reply = await h.pay(merchant, card('tok_processorUnavailable'));
      expect(reply.status).toBe(200);
      expect(reply.body.status).toBe('succeeded');
      const task = await h.gw.call<{ state: string; retries: number }>(
        'GET',
        `/v1/admin/tasks/${reply.body.id}:authorize`,
      );
      expect(task.body).toMatchObject({ state: 'SUCCESS', retries: 2 });
    });

    it('fails tok_processorDown with processing_error and dead-letters its task', async () => {
      const reply = await h.pay(merchant, card('tok_processorDown'));
      expect(reply.status).toBe(402);
      expect(reply.body.error).toMatchObject({ type: 'card_error', code: 'processing_error' });
      // No issuer declined: the error names the payment and has no decline code.
      expect(reply.body.error).not.toHaveProperty('decline_code');
      const id = (reply.body.error as CardError).payment;
      expect(id).toMatch(/^pay_[A-Za-z0-9]{24}$/);
      expect((await h.get(merchant, id)).body).toMatchObject({
        status: 'failed',
        failure_code: 'processing_error',
      });
      const letters = await h.gw.call<{ data: { id: string; task: string; reason: string }[] }>(
        'GET',
        '/v1/admin/dead-letters?queue=gateway&limit=100',
      );
      expect(letters.body.data).toContainEqual(
        expect.objectContaining({
          id: `${id}:authorize`,
          task: 'gateway.authorize_payment',
          reason: 'retries-exhausted',
        }),
      );
    });

    it('waits for tok_slow (2 s) and answers the settled payment', async () => {
      const started = Date.now();
      const reply = await h.pay(merchant, card('tok_slow'));
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
      expect(reply.status).toBe(200);
      expect(reply.body.status).toBe('succeeded');
    });

    it('approves tok_refundFail (its refunds fail, later)', async () => {
      expect((await h.pay(merchant, card('tok_refundFail'))).body.status).toBe('succeeded');
    });

    it('answers 400 for a token the processor does not know, and creates nothing', async () => {
      const reply = await h.pay(merchant, card('tok_nope'));
      expect(reply.status).toBe(400);
      expect(reply.body.error).toMatchObject({ code: 'parameter_invalid', param: 'source' });
      const db = h.gw.db;
      const rows = await db.query<unknown[]>(`SELECT 1 FROM payments WHERE source = 'tok_nope'`);
      expect(rows).toEqual([]);
    });
  });

  describe('real time', () => {
    it('answers 202 processing at once with Prefer: respond-async, and completes anyway', async () => {
      const reply = await h.pay(merchant, card('tok_slow'), {
        headers: { prefer: 'respond-async' },
      });
      // "At once": before the payment could have completed (tok_slow takes 2 s), which the
      // status says without timing the machine.
      expect(reply.status).toBe(202);
      expect(reply.body).toMatchObject({ status: 'processing', amount_captured: 0 });
      expect(reply.headers.get('location')).toBe(`/v1/payments/${reply.body.id}`);
      await h.until(merchant, reply.body.id, 'succeeded');
    });

    it('answers 202 when Prefer: wait=N runs out, and the payment completes', async () => {
      const reply = await h.pay(merchant, card('tok_slow'), { headers: { prefer: 'wait=1' } });
      expect(reply.status).toBe(202);
      expect(reply.body.status).toBe('processing');
      const done = await h.until(merchant, reply.body.id, 'succeeded');
      expect(done.amount_captured).toBe(2_000);
    });

    it('answers the settled payment when Prefer: wait=N is long enough', async () => {
      const reply = await h.pay(merchant, card('tok_slow'), {
        // As long as a request may wait: a loaded machine must not turn 2 s into a 202.
        headers: { prefer: 'respond-async, wait=30' },
      });
      expect(reply.status).toBe(200);
      expect(reply.body.status).toBe('succeeded');
    });

    it('captures asynchronously too: 202 processing, then succeeded', async () => {
      const payment = (await h.pay(merchant, card('tok_visa', { capture_method: 'manual' }))).body;
      const reply = await h.act(merchant, payment.id, 'capture', undefined, {
        headers: { prefer: 'respond-async' },
      });
      expect(reply.status).toBe(202);
      expect(reply.body.status).toBe('processing');
      await h.until(merchant, payment.id, 'succeeded');
    });
  });

  describe('merchant isolation', () => {
    it("answers 404 for another merchant's payment on every route", async () => {
      const other = await h.gw.createMerchant();
      const mine = (await h.pay(merchant, card('tok_visa', { capture_method: 'manual' }))).body;
      for (const reply of [
        await h.get(other, mine.id),
        await h.act(other, mine.id, 'capture'),
        await h.act(other, mine.id, 'cancel'),
      ]) {
        expect(reply.status).toBe(404);
        expect(reply.body.error).toMatchObject({ code: 'resource_missing' });
      }
      const list = await h.gw.call<{ data: Payment[] }>('GET', '/v1/payments', {
        key: other.api_key,
      });
      expect(list.body.data).toEqual([]);
      const cursor = await h.gw.call('GET', `/v1/payments?starting_after=${mine.id}`, {
        key: other.api_key,
      });
      expect(cursor.status).toBe(404);
      // Untouched by the other merchant's attempts.
      expect((await h.get(merchant, mine.id)).body.status).toBe('requires_capture');
      await h.act(merchant, mine.id, 'cancel');
    });
  });

  describe('list and balance', () => {
    it('lists newest first with cursors, and the balance follows the ledger', async () => {
      const shop = await h.gw.createMerchant();
      const ids: string[] = [];
      for (const amount of [100, 200, 300, 400, 500]) {
        ids.push((await h.pay(shop, card('tok_visa', { amount }))).body.id);
      }
      const authorized = (
        await h.pay(shop, card('tok_visa', { amount: 700, capture_method: 'manual' }))
      ).body;
      ids.push(authorized.id);
      await h.pay(shop, card('tok_chargeDeclined', { amount: 900 }));
      await h.pay(shop, card('tok_visa', { amount: 50, currency: 'eur' }));

      const list = (query: string) =>
        h.gw.call<{ object: string; url: string; has_more: boolean; data: Payment[] }>(
          'GET',
          `/v1/payments${query}`,
          { key: shop.api_key },
        );
      const all = await list('?limit=100');
      expect(all.body).toMatchObject({ object: 'list', url: '/v1/payments', has_more: false });
      expect(all.body.data).toHaveLength(8);
      const first = await list('?limit=3');
      expect(first.body.has_more).toBe(true);
      expect(first.body.data.map((p) => p.id)).toEqual(all.body.data.slice(0, 3).map((p) => p.id));
      const next = await list(`?limit=3&starting_after=${first.body.data[2]!.id}`);
      expect(next.body.data.map((p) => p.id)).toEqual(all.body.data.slice(3, 6).map((p) => p.id));
      const back = await list(`?limit=2&ending_before=${next.body.data[0]!.id}`);
      expect(back.body.data.map((p) => p.id)).toEqual(all.body.data.slice(1, 3).map((p) => p.id));
      expect((await list('?limit=0')).status).toBe(400);

      const balance = await h.gw.call('GET', '/v1/balance', { key: shop.api_key });
      expect(balance.status).toBe(200);
      // Captured money is pending until settlement; authorizations and declines are not in it.
      expect(balance.body).toEqual({
        object: 'balance',
        available: [],
        pending: [
          { amount: 50, currency: 'eur' },
          { amount: 1_500, currency: 'usd' },
        ],
      });
      await h.act(shop, authorized.id, 'capture', { amount_to_capture: 600 });
      const after = await h.gw.call<{ pending: unknown[] }>('GET', '/v1/balance', {
        key: shop.api_key,
      });
      expect(after.body.pending).toContainEqual({ amount: 2_100, currency: 'usd' });
    });
  });

  it("POSTs payment events to the merchant's webhook URL, signed", async () => {
    const received: { body: string; signature: string }[] = [];
    const endpoint = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        received.push({ body, signature: String(req.headers['clearline-signature']) });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/hooks`;
      const shop = await h.gw.createMerchant({ webhook_url: url });
      const payment = (await h.pay(shop, card())).body;
      const [delivery] = await eventually(() => received.length > 0 && received, {
        what: 'the webhook',
      });
      expect(JSON.parse(delivery!.body)).toMatchObject({
        object: 'event',
        type: 'payment.succeeded',
        data: { object: { id: payment.id, status: 'succeeded' } },
      });
      expect(verifySignature(delivery!.signature, delivery!.body, shop.webhook_secret)).toBe(true);
    } finally {
      await new Promise((resolve) => endpoint.close(resolve));
    }
  });

  it('documents the payment routes in OpenAPI', async () => {
    const docs = await h.gw.call<{ paths: Record<string, object> }>('GET', '/docs-json', {
      key: null,
    });
    expect(Object.keys(docs.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/payments',
        '/v1/payments/{id}',
        '/v1/payments/{id}/capture',
        '/v1/payments/{id}/cancel',
        '/v1/balance',
        '/v1/admin/ledger/check',
      ]),
    );
  });

  it('records an event for every outcome', async () => {
    const shop = await h.gw.createMerchant();
    await h.pay(shop, card());
    await h.pay(shop, card('tok_chargeDeclined'));
    const manual = (await h.pay(shop, card('tok_visa', { capture_method: 'manual' }))).body;
    await h.act(shop, manual.id, 'cancel');
    const events = await h.gw.call<{ data: { type: string; data: { object: Payment } }[] }>(
      'GET',
      '/v1/events?limit=100',
      { key: shop.api_key },
    );
    expect(events.body.data.map((e) => e.type)).toEqual([
      'payment.canceled',
      'payment.requires_capture',
      'payment.failed',
      'payment.succeeded',
    ]);
    expect(events.body.data[0]!.data.object).toMatchObject({ id: manual.id, status: 'canceled' });
  });
});
