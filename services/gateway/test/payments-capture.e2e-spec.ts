/**
 * Manual capture (in full, in part, more than capturable) and cancel through the API,
 * the states that refuse them (400 payment_unexpected_state), their input rules, and
 * the payment tasks run again (a redelivery or an operator's replay) changing nothing.
 * After every test the ledger must balance.
 *
 * How: the real gateway and the real ledger (harness) over RabbitMQ and PostgreSQL,
 * called with fetch; tasks are sent again with the gateway's own TaskClient, and the
 * ledger's transfers and the events are counted in the database.
 */
import { TaskClient } from '@clearline/tasks';
import type { CreatedMerchant } from './gateway-harness';
import { card, startPayments, type Payment, type PaymentsHarness } from './payments-harness';

describe('payments: capture and cancel', () => {
  let h: PaymentsHarness;
  let merchant: CreatedMerchant;

  beforeAll(async () => {
    h = await startPayments();
    merchant = await h.gw.createMerchant();
  });

  afterAll(async () => {
    await h.close();
  });

  afterEach(() => h.expectBalanced());

  const authorize = async (amount = 5_000): Promise<Payment> => {
    const reply = await h.pay(merchant, card('tok_visa', { amount, capture_method: 'manual' }));
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      status: 'requires_capture',
      amount_capturable: amount,
      amount_captured: 0,
    });
    return reply.body;
  };

  it('captures in full', async () => {
    const payment = await authorize();
    const reply = await h.act(merchant, payment.id, 'capture');
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      id: payment.id,
      status: 'succeeded',
      amount_captured: 5_000,
      amount_capturable: 0,
    });
  });

  it('captures in part: the rest is released', async () => {
    const payment = await authorize();
    const reply = await h.act(merchant, payment.id, 'capture', { amount_to_capture: 1_200 });
    expect(reply.body).toMatchObject({
      status: 'succeeded',
      amount: 5_000,
      amount_captured: 1_200,
      amount_capturable: 0,
    });
  });

  it('refuses to capture more than is capturable, and leaves the payment as it was', async () => {
    const payment = await authorize(1_000);
    const reply = await h.act(merchant, payment.id, 'capture', { amount_to_capture: 1_001 });
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatchObject({
      code: 'amount_too_large',
      param: 'amount_to_capture',
    });
    expect((await h.get(merchant, payment.id)).body.status).toBe('requires_capture');
  });

  it('cancels: the authorization is voided', async () => {
    const payment = await authorize();
    const reply = await h.act(merchant, payment.id, 'cancel');
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      status: 'canceled',
      amount_capturable: 0,
      amount_captured: 0,
    });
  });

  it('answers 400 payment_unexpected_state for a capture or cancel in the wrong state', async () => {
    const canceled = await authorize();
    await h.act(merchant, canceled.id, 'cancel');
    const automatic = (await h.pay(merchant, card())).body;
    const declined = /pay_\w+/.exec(
      (await h.pay(merchant, card('tok_chargeDeclined'))).body.error.message,
    )![0];
    const cases: [string, 'capture' | 'cancel'][] = [
      [canceled.id, 'capture'],
      [canceled.id, 'cancel'],
      [automatic.id, 'capture'],
      [automatic.id, 'cancel'],
      [declined, 'capture'],
    ];
    for (const [id, action] of cases) {
      const reply = await h.act(merchant, id, action);
      expect({ id, action, status: reply.status, code: reply.body.error.code }).toEqual({
        id,
        action,
        status: 400,
        code: 'payment_unexpected_state',
      });
    }
    // A second capture of a captured payment is refused too.
    const captured = await authorize();
    expect((await h.act(merchant, captured.id, 'capture')).status).toBe(200);
    expect((await h.act(merchant, captured.id, 'capture')).body.error.code).toBe(
      'payment_unexpected_state',
    );
  });

  it('lets one of a capture and a cancel sent at once win, and refuses the other: money moves once', async () => {
    const payments = await Promise.all([authorize(), authorize(), authorize()]);
    const replies = await Promise.all(
      payments.flatMap((payment) => [
        h.act(merchant, payment.id, 'capture'),
        h.act(merchant, payment.id, 'cancel'),
        h.act(merchant, payment.id, 'capture'),
      ]),
    );
    for (const [i, payment] of payments.entries()) {
      const mine = replies.slice(3 * i, 3 * i + 3);
      const won = mine.filter((reply) => reply.status === 200);
      expect(won).toHaveLength(1);
      for (const reply of mine.filter((r) => r.status !== 200)) {
        expect({ status: reply.status, code: reply.body.error.code }).toEqual({
          status: 400,
          code: 'payment_unexpected_state',
        });
      }
      const final = (await h.get(merchant, payment.id)).body;
      expect(final.status).toBe(won[0]?.body.status);
      expect(final.amount_captured).toBe(final.status === 'succeeded' ? 5_000 : 0);
    }
  });

  it('refuses unknown fields and bad amounts on capture, and any field on cancel', async () => {
    const payment = await authorize();
    for (const [body, code] of [
      [{ amount: 10 }, 'parameter_unknown'],
      [{ amount_to_capture: 1.5 }, 'parameter_invalid'],
      [{ amount_to_capture: '100' }, 'parameter_invalid'],
      [{ amount_to_capture: 0 }, 'parameter_invalid'],
    ] as const) {
      expect((await h.act(merchant, payment.id, 'capture', body)).body.error.code).toBe(code);
    }
    const cancel = await h.act(merchant, payment.id, 'cancel', { reason: 'x' });
    expect(cancel.body.error).toMatchObject({ code: 'parameter_unknown', param: 'reason' });
    expect((await h.get(merchant, payment.id)).body.status).toBe('requires_capture');
  });

  it('changes nothing when a payment task runs again (redelivery, operator replay)', async () => {
    const shop = await h.gw.createMerchant();
    const paid = (await h.pay(shop, card())).body;
    const held = (await h.pay(shop, card('tok_visa', { capture_method: 'manual' }))).body;
    await h.act(shop, held.id, 'capture', { amount_to_capture: 100 });
    const tasks = h.gw.app.get(TaskClient);
    const again = async (task: string, payload: object) =>
      (await tasks.send(task, payload)).result();
    // The result (PaymentTaskResult) reports the payment as it stands, changed by nobody.
    const now = (await h.get(shop, paid.id)).body;
    await expect(again('gateway.authorize_payment', { payment_id: paid.id })).resolves.toEqual({
      version: 1,
      payment_id: paid.id,
      status: now.status,
      amount_capturable: String(now.amount_capturable),
      amount_captured: String(now.amount_captured),
      failure_code: now.failure_code,
      failure_message: now.failure_message,
      processor_reference: now.processor_reference,
      updated_at: expect.any(String) as unknown,
    });
    await again('gateway.capture_payment', { payment_id: held.id, amount_to_capture: 900 });
    await again('gateway.cancel_payment', { payment_id: held.id });
    expect((await h.get(shop, held.id)).body).toMatchObject({
      status: 'succeeded',
      amount_captured: 100,
    });
    const db = h.gw.db;
    const events = await db.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM events WHERE merchant_id = $1`,
      [shop.id],
    );
    expect(events[0]!.n).toBe(3);
    const transfers = await db.query<{ id: string }[]>(
      `SELECT id FROM ledger_transfers WHERE id LIKE $1 OR id LIKE $2 ORDER BY id`,
      [`${paid.id}:%`, `${held.id}:%`],
    );
    expect(transfers.map((t) => t.id.split(':')[1]).sort()).toEqual([
      'auth',
      'auth',
      'capture',
      'capture',
    ]);
  });
});
