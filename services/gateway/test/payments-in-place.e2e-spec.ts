/**
 * A payment whose request waits is authorized by that request, in its own process
 * (`InPlaceAuthorizations`): its `gateway.authorize_payment` task, written with the
 * payment, is never published, and the outcome's statement records the task's result and
 * marks its outbox row sent. Any error hands the task to the broker, where a worker
 * finishes it as for any payment.
 *
 * How: a gateway creates the merchant (its ledger accounts open through the relay) and
 * stops. A replica that consumes no lane and runs no outbox relay then takes payments:
 * nobody can run a task it publishes, so a payment answered 200 was authorized in place.
 * Its task's result is SUCCESS, its outbox row sent without a publish (`attempts` 0: a
 * publish counts one); a decline fails the payment in place as well. A payment whose
 * processor does not answer is handed over: its task is published (`attempts` 1) and
 * the request, with nobody to run it, answers 202 `processing` when its wait ends; so does
 * `Prefer: respond-async`, whose task goes to the broker at once.
 */
import { randomUUID } from 'node:crypto';
import {
  eventually,
  isolatedInfrastructure,
  startServiceOnFreePort,
  SERVICE_START_TIMEOUT_MS,
  type IsolatedInfrastructure,
  type ServiceProcess,
} from '@clearline/testing';
import { startGateway, type GatewayHarness } from './gateway-harness';

jest.setTimeout(SERVICE_START_TIMEOUT_MS);

interface Reply {
  id: string;
  status: string;
  error?: { payment?: string; code?: string };
}

interface OutboxRow {
  sent: boolean;
  attempts: number;
}

describe('payments authorized in place by their request', () => {
  let infra: IsolatedInfrastructure;
  let ledger: ServiceProcess;
  let replica: GatewayHarness;
  let key: string;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    ledger = await startServiceOnFreePort('ledger', infra.env);
    const first = await startGateway({ RATE_LIMIT_PER_S: '1000000' }, { infra });
    try {
      key = (await first.createMerchant()).api_key;
      await eventually(async () => (await pay(first, 'tok_visa')).status === 200, {
        what: "the merchant's first payment (its ledger accounts open through the relay)",
      });
    } finally {
      await first.close();
    }
    replica = await startGateway(
      { RATE_LIMIT_PER_S: '1000000', PAYMENT_WAIT_MS: '30000' },
      { infra, tasks: { consumeLanes: [], outboxRelay: false } },
    );
  });

  afterAll(async () => {
    await replica.close();
    await ledger.stop();
    await infra.destroy();
  });

  function pay(
    gateway: GatewayHarness,
    source: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: Reply }> {
    return gateway.call<Reply>('POST', '/v1/payments', {
      key,
      idempotencyKey: randomUUID(),
      headers,
      body: { amount: 1_500, currency: 'usd', source },
    });
  }

  async function outboxRow(paymentId: string): Promise<OutboxRow> {
    const rows = await replica.db.query<OutboxRow[]>(
      `SELECT sent_at IS NOT NULL AS sent, attempts FROM task_outbox WHERE task_id = $1`,
      [`${paymentId}:authorize`],
    );
    expect(rows).toHaveLength(1);
    return rows[0] as OutboxRow;
  }

  async function taskOf(paymentId: string): Promise<{ status: number; body: unknown }> {
    return replica.call('GET', `/v1/admin/tasks/${paymentId}:authorize`);
  }

  it('settles an approved payment in the request, its task recorded and never published', async () => {
    const reply = await pay(replica, 'tok_visa');
    expect({ status: reply.status, payment: reply.body.status }).toEqual({
      status: 200,
      payment: 'succeeded',
    });
    const task = await taskOf(reply.body.id);
    expect(task).toMatchObject({
      status: 200,
      body: {
        state: 'SUCCESS',
        task: 'gateway.authorize_payment',
        retries: 0,
        result: { payment_id: reply.body.id, status: 'succeeded' },
      },
    });
    expect(await outboxRow(reply.body.id)).toEqual({ sent: true, attempts: 0 });
  });

  it('fails a declined payment in the request', async () => {
    const reply = await pay(replica, 'tok_chargeDeclined');
    expect(reply.status).toBe(402);
    const id = reply.body.error?.payment ?? '';
    expect(id).toMatch(/^pay_/);
    expect((await taskOf(id)).body).toMatchObject({
      state: 'SUCCESS',
      result: { payment_id: id, status: 'failed' },
    });
    expect(await outboxRow(id)).toEqual({ sent: true, attempts: 0 });
  });

  it('hands a payment whose processor does not answer to the broker', async () => {
    const reply = await pay(replica, 'tok_processorUnavailable', { prefer: 'wait=3' });
    // Published, and nobody here consumes it: the request's wait ends with the payment as it is.
    expect({ status: reply.status, payment: reply.body.status }).toEqual({
      status: 202,
      payment: 'processing',
    });
    expect(await outboxRow(reply.body.id)).toEqual({ sent: true, attempts: 1 });
    expect((await taskOf(reply.body.id)).body).not.toMatchObject({ state: 'SUCCESS' });
  });

  it('sends the task of a request that does not wait to the broker at once', async () => {
    const reply = await pay(replica, 'tok_visa', { prefer: 'respond-async' });
    expect({ status: reply.status, payment: reply.body.status }).toEqual({
      status: 202,
      payment: 'processing',
    });
    await eventually(async () => (await outboxRow(reply.body.id)).attempts === 1, {
      what: 'the task published after the commit',
    });
  });
});
