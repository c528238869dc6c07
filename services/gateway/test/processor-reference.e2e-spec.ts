/**
 * Payments keep the processor's reference of their authorization (`processor_reference`,
 * what a processor's settlement file names): a payment the sandbox approved shows its
 * authorization id (`sandbox_auth_<payment id>`) in the POST answer, on GET, in the
 * list and in its events; one it declined shows null; a manual capture keeps the
 * reference its authorization got; a payment whose first answer was lost
 * (`tok_answerLost`) gets it from the processor's answer to the retry.
 *
 * How: the real gateway and the real ledger (harness) over RabbitMQ and PostgreSQL,
 * called with fetch. The reference comes from the sandbox processor in the gateway's
 * payment worker; nothing here writes it.
 */
import type { CreatedMerchant, ErrorReply } from './gateway-harness';
import { card, startPayments, type Payment, type PaymentsHarness } from './payments-harness';

interface EventList {
  data: { type: string; data: { object: Payment } }[];
}

describe('processor_reference of payments', () => {
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

  const reference = (paymentId: string): string => `sandbox_auth_${paymentId}`;

  /** The payment objects of the merchant's events about `paymentId`, by type. */
  const eventObjects = async (paymentId: string): Promise<Record<string, Payment>> => {
    const events = await h.gw.call<EventList>('GET', '/v1/events?limit=100', {
      key: merchant.api_key,
    });
    return Object.fromEntries(
      events.body.data
        .filter((event) => event.data.object.id === paymentId)
        .map((event) => [event.type, event.data.object]),
    );
  };

  it('shows the authorization id of a succeeded payment: POST, GET, list and its event', async () => {
    const reply = await h.pay(merchant, card('tok_visa'));
    expect(reply.status).toBe(200);
    const id = reply.body.id;
    // The waiting request answers with the task's result, reference included.
    expect(reply.body).toMatchObject({ status: 'succeeded', processor_reference: reference(id) });
    expect((await h.get(merchant, id)).body.processor_reference).toBe(reference(id));
    const list = await h.gw.call<{ data: Payment[] }>('GET', '/v1/payments?limit=100', {
      key: merchant.api_key,
    });
    expect(list.body.data.find((payment) => payment.id === id)?.processor_reference).toBe(
      reference(id),
    );
    const events = await eventObjects(id);
    expect(events['payment.succeeded']?.processor_reference).toBe(reference(id));
  });

  it('shows null for a declined payment', async () => {
    const reply = await h.pay(merchant, card('tok_chargeDeclined'));
    expect(reply.status).toBe(402);
    const id = (reply.body.error as ErrorReply['error'] & { payment: string }).payment;
    expect((await h.get(merchant, id)).body).toMatchObject({
      status: 'failed',
      processor_reference: null,
    });
    expect((await eventObjects(id))['payment.failed']?.processor_reference).toBeNull();
  });

  it('is null while a payment is processing, and kept through a manual capture', async () => {
    const created = await h.pay(merchant, card('tok_visa', { capture_method: 'manual' }), {
      headers: { prefer: 'respond-async' },
    });
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({ status: 'processing', processor_reference: null });
    const id = created.body.id;
    const held = await h.until(merchant, id, 'requires_capture');
    expect(held.processor_reference).toBe(reference(id));
    const captured = await h.act(merchant, id, 'capture', { amount_to_capture: 1_500 });
    expect(captured.body).toMatchObject({
      status: 'succeeded',
      amount_captured: 1_500,
      processor_reference: reference(id),
    });
    expect((await eventObjects(id))['payment.succeeded']?.processor_reference).toBe(reference(id));
  });

  it('gets the reference of a payment whose first answer was lost (tok_answerLost)', async () => {
    const reply = await h.pay(merchant, card('tok_answerLost'));
    expect(reply.status).toBe(200);
    const id = reply.body.id;
    expect(reply.body).toMatchObject({ status: 'succeeded', processor_reference: reference(id) });
    expect((await h.get(merchant, id)).body.processor_reference).toBe(reference(id));
  });
});
