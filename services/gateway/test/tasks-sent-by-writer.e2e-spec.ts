/**
 * A payment's `gateway.authorize_payment` task (and its capture's or cancel's) and a
 * refund's `refund.process_refund` are published by the gateway that wrote them, right
 * after the commit (`CommittedOutbox`): no outbox relay is woken for them, which saves
 * the relay's transaction and a notification hop on every payment and refund. The relay's sweep stays the safety net
 * (libs/tasks outbox-wakeup.int-spec covers the sender itself: rows a relay holds,
 * publishes that fail).
 *
 * How: a gateway with its outbox relay creates the merchant (whose `ledger.open_merchant`
 * goes through the relay) and is stopped once the merchant's first payment succeeded. A
 * replica with no outbox relay at all then takes payments and refunds them (the refund
 * service runs as a process): they can succeed only if the gateway publishes their tasks
 * itself; otherwise they would wait in the outbox and answer 202 `processing` (a refund:
 * `pending`).
 */
import { randomUUID } from 'node:crypto';
import {
  eventually,
  isolatedInfrastructure,
  startServiceOnFreePort,
  type IsolatedInfrastructure,
  type ServiceProcess,
} from '@clearline/testing';
import { startGateway, type GatewayHarness } from './gateway-harness';

interface Reply {
  id: string;
  status: string;
}

describe('payments and refunds sent by the gateway that wrote them', () => {
  let infra: IsolatedInfrastructure;
  let ledger: ServiceProcess;
  let refund: ServiceProcess;
  let withoutRelay: GatewayHarness | null = null;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    ledger = await startServiceOnFreePort('ledger', infra.env);
    refund = await startServiceOnFreePort('refund', infra.env);
  });

  afterAll(async () => {
    await withoutRelay?.close();
    await refund.stop();
    await ledger.stop();
    await infra.destroy();
  });

  const pay = (gateway: GatewayHarness, key: string): Promise<{ status: number; body: Reply }> =>
    gateway.call<Reply>('POST', '/v1/payments', {
      key,
      idempotencyKey: randomUUID(),
      body: { amount: 1_500, currency: 'usd', source: 'tok_visa' },
    });

  it('a gateway with no outbox relay still takes payments, captures, cancels and refunds through', async () => {
    const first = await startGateway({}, { infra });
    let key: string;
    try {
      const merchant = await first.createMerchant();
      key = merchant.api_key;
      await eventually(async () => (await pay(first, key)).status === 200, {
        what: "the merchant's first payment (its ledger accounts open through the relay)",
      });
    } finally {
      await first.close();
    }
    withoutRelay = await startGateway({}, { infra, tasks: { outboxRelay: false } });
    for (let i = 0; i < 3; i += 1) {
      const reply = await pay(withoutRelay, key);
      expect({ status: reply.status, payment: reply.body.status }).toEqual({
        status: 200,
        payment: 'succeeded',
      });
      const refunded = await withoutRelay.call<Reply>('POST', '/v1/refunds', {
        key,
        idempotencyKey: randomUUID(),
        body: { payment: reply.body.id, amount: 500 },
      });
      expect({ status: refunded.status, refund: refunded.body.status }).toEqual({
        status: 200,
        refund: 'succeeded',
      });
    }
    // Capture and cancel hand their tasks over the same way.
    for (const [operation, status] of [
      ['capture', 'succeeded'],
      ['cancel', 'canceled'],
    ] as const) {
      const manual = await withoutRelay.call<Reply>('POST', '/v1/payments', {
        key,
        idempotencyKey: randomUUID(),
        body: { amount: 1_500, currency: 'usd', source: 'tok_visa', capture_method: 'manual' },
      });
      expect(manual.body.status).toBe('requires_capture');
      const operated = await withoutRelay.call<Reply>(
        'POST',
        `/v1/payments/${manual.body.id}/${operation}`,
        { key, idempotencyKey: randomUUID(), body: {} },
      );
      expect({ status: operated.status, payment: operated.body.status }).toEqual({
        status: 200,
        payment: status,
      });
    }
  });
});
