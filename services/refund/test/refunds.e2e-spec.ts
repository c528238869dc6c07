/**
 * Refunds through the REST API, end to end on real RabbitMQ and PostgreSQL: the
 * gateway decides what is refundable and reserves it, the refund service holds the
 * money in the ledger, asks the sandbox processor and posts or releases, and the
 * gateway records the outcome. Full and partial refunds, over-refunds, refunds of
 * payments in the wrong state, 50 concurrent refunds of one payment, idempotent
 * retries, a refund the processor refuses, another merchant's payment, bad input.
 * After every test the ledger's invariant report must be clean.
 */
import { randomUUID } from 'node:crypto';
import type { CreatedMerchant } from '@clearline/testing';
import { startRefunds, type RefundsHarness } from './refunds-harness';

describe('refunds (REST, end to end)', () => {
  let h: RefundsHarness;
  let merchant: CreatedMerchant;
  let other: CreatedMerchant;

  beforeAll(async () => {
    h = await startRefunds();
    merchant = await h.gw.createMerchant({ name: 'Refunding shop' });
    other = await h.gw.createMerchant({ name: 'Other shop' });
  });

  afterEach(() => h.expectBalanced());

  afterAll(async () => {
    await h.close();
  });

  it('refunds a payment in full by default, and the payment’s amount_refunded follows', async () => {
    const payment = await h.captured(merchant, 2_000);
    const reply = await h.refund(merchant, {
      payment,
      reason: 'requested_by_customer',
      metadata: { ticket: '42' },
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      object: 'refund',
      payment,
      amount: 2_000,
      currency: 'usd',
      status: 'succeeded',
      reason: 'requested_by_customer',
      failure_reason: null,
      metadata: { ticket: '42' },
    });
    expect(reply.body.id).toMatch(/^re_/);
    // The processor's refund id, from the refund service's outcome, on the refund.
    expect(reply.body.processor_reference).toBe(`sandbox_re_${reply.body.id}`);
    expect((await h.get(merchant, payment)).body.amount_refunded).toBe(2_000);
    expect((await h.getRefund(merchant, reply.body.id)).body).toEqual(reply.body);
    const listed = await h.gw.call<{ data: { id: string; processor_reference: string | null }[] }>(
      'GET',
      `/v1/refunds?payment=${payment}`,
      { key: merchant.api_key },
    );
    expect(listed.body.data).toEqual([
      expect.objectContaining({
        id: reply.body.id,
        processor_reference: `sandbox_re_${reply.body.id}`,
      }),
    ]);
    const events = await h.gw.call<{
      data: { type: string; data: { object: { id: string; processor_reference: unknown } } }[];
    }>('GET', '/v1/events?limit=10', { key: merchant.api_key });
    const own = events.body.data.filter((e) => e.data.object.id === reply.body.id);
    expect(own.map((e) => e.type).sort()).toEqual(['refund.created', 'refund.succeeded']);
    expect(Object.fromEntries(own.map((e) => [e.type, e.data.object.processor_reference]))).toEqual(
      { 'refund.created': null, 'refund.succeeded': `sandbox_re_${reply.body.id}` },
    );
  });

  it('takes two partial refunds, then the rest by default; the list by payment shows them newest first', async () => {
    const payment = await h.captured(merchant, 2_000);
    const first = await h.refund(merchant, { payment, amount: 500 });
    const second = await h.refund(merchant, { payment, amount: 700 });
    expect([first.body.status, second.body.status]).toEqual(['succeeded', 'succeeded']);
    expect((await h.get(merchant, payment)).body.amount_refunded).toBe(1_200);
    const rest = await h.refund(merchant, { payment });
    expect(rest.body).toMatchObject({ status: 'succeeded', amount: 800 });
    const list = await h.gw.call<{ object: string; data: { id: string }[]; has_more: boolean }>(
      'GET',
      `/v1/refunds?payment=${payment}&limit=2`,
      { key: merchant.api_key },
    );
    expect(list.body.object).toBe('list');
    expect(list.body.data.map((r) => r.id)).toEqual([rest.body.id, second.body.id]);
    expect(list.body.has_more).toBe(true);
  });

  it('refuses more than is left (amount_too_large) and a refunded payment (charge_already_refunded), changing nothing', async () => {
    const payment = await h.captured(merchant, 1_000);
    const tooMuch = await h.refund(merchant, { payment, amount: 1_001 });
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.body.error).toMatchObject({ code: 'amount_too_large', param: 'amount' });
    expect((await h.refund(merchant, { payment })).body.status).toBe('succeeded');
    const again = await h.refund(merchant, { payment, amount: 1 });
    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe('charge_already_refunded');
    expect((await h.get(merchant, payment)).body.amount_refunded).toBe(1_000);
  });

  it('refuses refunds of uncaptured, failed and canceled payments with payment_unexpected_state', async () => {
    const manual = await h.pay(merchant, {
      amount: 900,
      currency: 'usd',
      source: 'tok_visa',
      capture_method: 'manual',
    });
    expect(manual.body.status).toBe('requires_capture');
    const declined = await h.pay(merchant, {
      amount: 900,
      currency: 'usd',
      source: 'tok_chargeDeclined',
    });
    const declinedId = /payment (pay_\w+)/.exec(declined.body.error.message)?.[1] ?? '';
    const canceledPayment = await h.pay(merchant, {
      amount: 900,
      currency: 'usd',
      source: 'tok_visa',
      capture_method: 'manual',
    });
    expect((await h.act(merchant, canceledPayment.body.id, 'cancel')).body.status).toBe('canceled');
    for (const payment of [manual.body.id, declinedId, canceledPayment.body.id]) {
      const reply = await h.refund(merchant, { payment });
      expect(reply.status).toBe(400);
      expect(reply.body.error.code).toBe('payment_unexpected_state');
    }
  });

  it('never refunds more than was captured under 50 concurrent partial refunds', async () => {
    const payment = await h.captured(merchant, 2_000);
    const replies = await Promise.all(
      Array.from({ length: 50 }, () => h.refund(merchant, { payment, amount: 150 })),
    );
    const accepted = replies.filter((r) => r.status === 200 || r.status === 202);
    const refused = replies.filter((r) => r.status === 400);
    expect(accepted).toHaveLength(13); // 13 × 150 = 1,950 ≤ 2,000 < 14 × 150
    expect(refused).toHaveLength(37);
    for (const r of refused) expect(r.body.error.code).toBe('amount_too_large');
    for (const r of accepted) await h.untilRefund(merchant, r.body.id, 'succeeded');
    expect((await h.get(merchant, payment)).body.amount_refunded).toBe(1_950);
  });

  it('replays an idempotent retry of the same refund, and refuses the key with another body', async () => {
    const payment = await h.captured(merchant, 1_500);
    const idempotencyKey = randomUUID();
    const first = await h.refund(merchant, { payment, amount: 300 }, { idempotencyKey });
    const replay = await h.refund(merchant, { payment, amount: 300 }, { idempotencyKey });
    expect(replay.status).toBe(first.status);
    expect(replay.body).toEqual(first.body);
    const other = await h.refund(merchant, { payment, amount: 301 }, { idempotencyKey });
    expect(other.status).toBe(422);
    expect((await h.get(merchant, payment)).body.amount_refunded).toBe(300);
  });

  it('frees the amount of a refund the processor refuses (tok_refundFail)', async () => {
    const payment = await h.captured(merchant, 1_200, 'tok_refundFail');
    const reply = await h.refund(merchant, { payment });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      status: 'failed',
      failure_reason: 'expired_or_canceled_card',
      amount: 1_200,
      processor_reference: null,
    });
    expect((await h.get(merchant, payment)).body.amount_refunded).toBe(0);
    // The whole amount is refundable again (it fails again at this processor, but is accepted).
    const again = await h.refund(merchant, { payment, amount: 1_200 });
    expect(again.body.status).toBe('failed');
  });

  it('retries a processor that is unavailable, then refunds (tok_processorUnavailable)', async () => {
    const payment = await h.captured(merchant, 800, 'tok_processorUnavailable');
    const reply = await h.refund(merchant, { payment });
    expect(reply.body.status).toBe('succeeded');
  });

  it('answers 202 at once with Prefer: respond-async, and the refund completes', async () => {
    const payment = await h.captured(merchant, 600);
    const reply = await h.refund(merchant, { payment }, { headers: { Prefer: 'respond-async' } });
    expect(reply.status).toBe(202);
    expect(reply.body.status).toBe('pending');
    await h.untilRefund(merchant, reply.body.id, 'succeeded');
  });

  it('answers 404 for another merchant’s payment and refund', async () => {
    const payment = await h.captured(merchant, 400);
    const refund = await h.refund(merchant, { payment, amount: 100 });
    const foreign = await h.refund(other, { payment });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error).toMatchObject({ code: 'resource_missing', param: 'payment' });
    expect((await h.getRefund(other, refund.body.id)).status).toBe(404);
    const list = await h.gw.call<{ data: unknown[] }>('GET', `/v1/refunds?payment=${payment}`, {
      key: other.api_key,
    });
    expect(list.body.data).toEqual([]);
    expect((await h.get(merchant, payment)).body.amount_refunded).toBe(100);
  });

  it('refuses bad input with a clear 400 and changes nothing', async () => {
    const payment = await h.captured(merchant, 500);
    const cases: [Record<string, unknown>, string | null][] = [
      [{ payment, amount: 1.5 }, 'amount'],
      [{ payment, amount: '100' }, 'amount'],
      [{ payment, amount: -1 }, 'amount'],
      [{ payment, amount: 0 }, 'amount'],
      [{ payment, reason: 'bored' }, 'reason'],
      [{ payment, status: 'succeeded' }, 'status'],
      [{ amount: 100 }, 'payment'],
      [{ payment: 'pay_doesNotExist' }, 'payment'],
    ];
    for (const [body, param] of cases) {
      const reply = await h.refund(merchant, body);
      expect([400, 404]).toContain(reply.status);
      expect(reply.body.error.param).toBe(param);
    }
    expect((await h.get(merchant, payment)).body.amount_refunded).toBe(0);
  });
});
