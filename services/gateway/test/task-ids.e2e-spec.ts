/**
 * The task ids that `GET /v1/admin/tasks/{id}` documents are the ids the platform
 * really gives: every example in the route's OpenAPI description, with the example
 * payment and refund ids replaced by real ones, names a task that ran and succeeded.
 *
 * How: the gateway, the ledger and the refund service run as their own processes
 * (startPlatform). A payment is authorized and captured, another canceled, the first
 * refunded; then each documented id form is read back through the operator route.
 */
import {
  paymentsApi,
  startPlatform,
  type CreatedMerchant,
  type PaymentsApi,
  type Platform,
} from '@clearline/testing';

interface Example {
  summary: string;
  value: string;
}

interface TaskReply {
  id: string;
  state: string;
  task: string | null;
}

const PAYMENT_ID = /^pay_[A-Za-z0-9]+/;
const REFUND_ID = /^re_[A-Za-z0-9]+/;

describe('task ids, as the operator route documents them', () => {
  let platform: Platform;
  let api: PaymentsApi;
  let merchant: CreatedMerchant;

  beforeAll(async () => {
    platform = await startPlatform({ services: ['gateway', 'ledger', 'refund'] });
    api = paymentsApi(platform.gw);
    merchant = await platform.gw.createMerchant();
  });

  afterAll(async () => {
    await platform.close();
  });

  it('names tasks that ran, for every documented form', async () => {
    const card = { amount: 2_000, currency: 'usd', source: 'tok_visa', capture_method: 'manual' };
    const captured = (await api.pay(merchant, card)).body.id;
    expect((await api.act(merchant, captured, 'capture')).body.status).toBe('succeeded');
    const canceled = (await api.pay(merchant, card)).body.id;
    expect((await api.act(merchant, canceled, 'cancel')).body.status).toBe('canceled');
    const refund = await api.refund(merchant, { payment: captured, amount: 500 });
    expect(refund.body.status).toBe('succeeded');

    const docs = await platform.gw.call<{
      paths: Record<string, { get: { parameters: { name: string; examples: object }[] } }>;
    }>('GET', '/docs-json', { key: null });
    const parameter = docs.body.paths['/v1/admin/tasks/{id}']!.get.parameters.find(
      (p) => p.name === 'id',
    );
    const examples = Object.values(parameter!.examples) as Example[];
    const documented = examples.filter(
      (example) => PAYMENT_ID.test(example.value) || REFUND_ID.test(example.value),
    );
    expect(documented.length).toBeGreaterThanOrEqual(8);
    for (const example of documented) {
      const payment = example.value.includes(':cancel') ? canceled : captured;
      const id = example.value.replace(PAYMENT_ID, payment).replace(REFUND_ID, refund.body.id);
      const task = await platform.gw.call<TaskReply>('GET', `/v1/admin/tasks/${id}`);
      expect({ example: example.summary, id, state: task.body.state }).toEqual({
        example: example.summary,
        id,
        state: 'SUCCESS',
      });
    }
    // Any other id is PENDING (nothing recorded), never 404.
    const unknown = await platform.gw.call<TaskReply>(
      'GET',
      '/v1/admin/tasks/0b8f1c2e-4d5a-4e6f-8a9b-1c2d3e4f5a6b',
    );
    expect({ status: unknown.status, state: unknown.body.state }).toEqual({
      status: 200,
      state: 'PENDING',
    });
  });
});
