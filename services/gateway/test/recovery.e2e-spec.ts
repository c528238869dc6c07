/**
 * Unknown is not failed, and nothing stays stuck. A payment whose processor answer was
 * lost after it applied the operation (`tok_answerLost`) ends as the processor applied
 * it, once. A payment whose processor is unreachable through every retry, calls and
 * lookups alike (`tok_processorOutage`, for the first round of each operation), is not
 * failed: it stays in flight, listed by `GET /v1/admin/operations` and counted by
 * `clearline_operations_in_flight`, until the sweeper resumes it; then it completes and
 * leaves both. The same for its capture. One resumed `OPERATION_RESUMES_MAX` times is
 * left for an operator (state `abandoned`).
 *
 * How: the real gateway and the real ledger (harness) over RabbitMQ and PostgreSQL,
 * called with fetch. The sweeper is driven by sending its task
 * (`gateway.resume_operations`) with the gateway's TaskClient, never by waiting out its
 * schedule. `OPERATION_RESUME_AFTER_MS` is an hour, so nothing is due until the test
 * says so (`makeDue` moves an operation's clock back by that much): the gateway's own
 * scheduler still sends a sweep every 30 s, and with a short interval one could resume
 * a payment between the moment its task gave up and the moment the test reads it in
 * flight (it did, once: the in-flight row was gone). Money is checked in the ledger's
 * tables and its invariant report.
 */
import { eventually } from '@clearline/testing';
import { TaskClient } from '@clearline/tasks';
import { DataSource } from 'typeorm';
import type { CreatedMerchant } from './gateway-harness';
import { card, startPayments, type Payment, type PaymentsHarness } from './payments-harness';

/** Longer than any test here: an operation is due only once `makeDue` says so. */
const RESUME_AFTER_MS = 3_600_000;
const ASYNC = { headers: { prefer: 'respond-async' } };

describe('recovery: unknown outcomes and the sweeper', () => {
  let h: PaymentsHarness;
  let merchant: CreatedMerchant;
  let db: DataSource;

  beforeAll(async () => {
    h = await startPayments({ OPERATION_RESUME_AFTER_MS: String(RESUME_AFTER_MS) });
    merchant = await h.gw.createMerchant();
    db = h.gw.db;
  });

  afterAll(async () => {
    await h.close();
  });

  afterEach(() => h.expectBalanced());

  /** The ledger's transfers of a payment, by id. */
  const transfers = async (paymentId: string): Promise<string[]> =>
    (
      await db.query<{ id: string }[]>(
        `SELECT id FROM ledger_transfers WHERE id LIKE $1 ORDER BY id`,
        [`${paymentId}:%`],
      )
    ).map((row) => row.id);

  /** The state of a task, as the operators' route shows it. */
  const taskState = async (taskId: string): Promise<string> =>
    (await h.gw.call<{ state: string }>('GET', `/v1/admin/tasks/${taskId}`)).body.state;

  /** Moves an operation's clock back by `OPERATION_RESUME_AFTER_MS`: the sweeper may resume it. */
  const makeDue = async (id: string): Promise<void> => {
    await db.query(
      `UPDATE payments
          SET updated_at = updated_at - $2::float8 * interval '1 millisecond',
              resumed_at = resumed_at - $2::float8 * interval '1 millisecond'
        WHERE id = $1`,
      [id, RESUME_AFTER_MS],
    );
  };

  /** Makes the payment due, then sends the sweep (as the schedule would) until it reaches `status`. */
  const sweepUntil = async (id: string, status: string): Promise<Payment> => {
    await makeDue(id);
    const client = h.gw.app.get(TaskClient);
    return eventually(
      async () => {
        await client.send('gateway.resume_operations', {});
        const payment = (await h.get(merchant, id)).body;
        return payment.status === status && payment;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: `payment ${id} to be ${status}` },
    );
  };

  const inFlight = async (id: string) =>
    (await h.operationsInFlight()).find((operation) => operation.id === id);

  it('settles tok_answerLost as the processor applied it: one authorization, one capture', async () => {
    const reply = await h.pay(merchant, card('tok_answerLost', { amount: 1_500 }));
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ status: 'succeeded', amount_captured: 1_500 });
    const id = reply.body.id;
    // The first answer was lost; the retry, with the same idempotency key, read it back.
    const task = await h.gw.call<{ state: string; retries: number }>(
      'GET',
      `/v1/admin/tasks/${id}:authorize`,
    );
    expect(task.body).toMatchObject({ state: 'SUCCESS', retries: 1 });
    expect(await transfers(id)).toEqual([`${id}:auth`, `${id}:capture`]);
    // The authorization's id, from the answer the retry read back, is kept.
    expect(reply.body.processor_reference).toBe(`sandbox_auth_${id}`);
  });

  it('captures and cancels tok_answerLost authorizations once each', async () => {
    const captured = await h.pay(merchant, card('tok_answerLost', { capture_method: 'manual' }));
    expect(captured.body.status).toBe('requires_capture');
    const capture = await h.act(merchant, captured.body.id, 'capture');
    expect(capture.body).toMatchObject({ status: 'succeeded', amount_captured: 2_000 });
    expect(await transfers(captured.body.id)).toEqual([
      `${captured.body.id}:auth`,
      `${captured.body.id}:capture`,
    ]);
    const canceled = await h.pay(merchant, card('tok_answerLost', { capture_method: 'manual' }));
    const cancel = await h.act(merchant, canceled.body.id, 'cancel');
    expect(cancel.body).toMatchObject({ status: 'canceled', amount_capturable: 0 });
    expect(await transfers(canceled.body.id)).toEqual([
      `${canceled.body.id}:auth`,
      `${canceled.body.id}:void`,
    ]);
  });

  it('leaves a payment whose outcome stays unknown in flight, not failed, until the sweeper resolves it; then its capture the same way', async () => {
    const reply = await h.pay(
      merchant,
      card('tok_processorOutage', { amount: 3_000, capture_method: 'manual' }),
      ASYNC,
    );
    expect(reply.status).toBe(202);
    const id = reply.body.id;
    // The task gave up (retries exhausted, and the processor could not say what happened)…
    await eventually(async () => (await taskState(`${id}:authorize`)) === 'FAILURE', {
      what: 'the authorization task to give up',
    });
    // …and the payment is still in flight: the customer may have been charged.
    expect((await h.get(merchant, id)).body).toMatchObject({
      status: 'processing',
      failure_code: null,
    });
    expect(await inFlight(id)).toMatchObject({
      id,
      object: 'payment',
      status: 'processing',
      operation: 'authorize',
      merchant: merchant.id,
    });
    expect(
      (await h.metric('clearline_operations_in_flight', { kind: 'authorize', state: 'running' })) +
        (await h.metric('clearline_operations_in_flight', { kind: 'authorize', state: 'overdue' })),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await h.metric('clearline_operation_oldest_age_seconds', { kind: 'authorize' }),
    ).toBeGreaterThanOrEqual(0);

    expect((await h.get(merchant, id)).body.processor_reference).toBeNull();

    // Resumed: the processor answers in the operation's next round, with its reference.
    const resumed = await sweepUntil(id, 'requires_capture');
    expect(resumed.processor_reference).toBe(`sandbox_auth_${id}`);
    expect(await taskState(`${id}:authorize:resume:1`)).toBe('SUCCESS');
    expect(await inFlight(id)).toBeUndefined();
    await eventually(
      async () =>
        (await h.metric('clearline_operations_in_flight', {
          kind: 'authorize',
          state: 'overdue',
        })) === 0,
      { what: 'no authorization overdue' },
    );

    // The capture's own first round is an outage too: it stays capturing, never lost.
    const capture = await h.act(merchant, id, 'capture', { amount_to_capture: 2_500 }, ASYNC);
    expect(capture.status).toBe(202);
    await eventually(async () => (await taskState(`${id}:capture`)) === 'FAILURE', {
      what: 'the capture task to give up',
    });
    expect((await h.get(merchant, id)).body.status).toBe('processing');
    expect(await inFlight(id)).toMatchObject({ status: 'capturing', operation: 'capture' });
    expect(
      (await h.metric('clearline_operations_in_flight', { kind: 'capture', state: 'running' })) +
        (await h.metric('clearline_operations_in_flight', { kind: 'capture', state: 'overdue' })),
    ).toBe(1);

    const done = await sweepUntil(id, 'succeeded');
    // The resumed capture captured what the merchant asked for, not the whole authorization.
    expect(done).toMatchObject({ amount_captured: 2_500, amount_capturable: 0 });
    expect(await transfers(id)).toEqual([`${id}:auth`, `${id}:capture`]);
    expect(await inFlight(id)).toBeUndefined();
    expect(
      (await h.metric('clearline_operations_in_flight', { kind: 'capture', state: 'running' })) +
        (await h.metric('clearline_operations_in_flight', { kind: 'capture', state: 'overdue' })),
    ).toBe(0);
  });

  it('pages the admin list with starting_after and filters it with older_than', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const reply = await h.pay(merchant, card('tok_processorOutage'), ASYNC);
      ids.push(reply.body.id);
    }
    for (const id of ids) {
      await eventually(async () => (await taskState(`${id}:authorize`)) === 'FAILURE', {
        what: `${id} to give up`,
      });
    }
    const first = await h.gw.call<{ data: { id: string }[]; has_more: boolean; url: string }>(
      'GET',
      '/v1/admin/operations?limit=2',
    );
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ object: 'list', url: '/v1/admin/operations' });
    const listed = first.body.data.map((o) => o.id);
    const rest = await h.gw.call<{ data: { id: string }[] }>(
      'GET',
      `/v1/admin/operations?limit=100&starting_after=${listed.at(-1)}`,
    );
    const all = [...listed, ...rest.body.data.map((o) => o.id)];
    expect(all).toEqual(expect.arrayContaining(ids));
    expect(new Set(all).size).toBe(all.length);
    const none = await h.gw.call<{ data: unknown[] }>(
      'GET',
      '/v1/admin/operations?older_than=86400',
    );
    expect(none.body.data).toEqual([]);
    const unknownCursor = await h.gw.call<{ error: { code: string; param: string } }>(
      'GET',
      '/v1/admin/operations?starting_after=pay_nope',
    );
    expect(unknownCursor.status).toBe(404);
    expect(unknownCursor.body.error).toMatchObject({
      code: 'resource_missing',
      param: 'starting_after',
    });
    const badFilter = await h.gw.call('GET', '/v1/admin/operations?older_than=-1');
    expect(badFilter.status).toBe(400);
    const merchantKey = await h.gw.call('GET', '/v1/admin/operations', { key: merchant.api_key });
    expect(merchantKey.status).toBe(401);
    // Resolve them, so the ledger's report after this test is about settled money.
    for (const id of ids) await sweepUntil(id, 'succeeded');
  });

  it('leaves an operation resumed OPERATION_RESUMES_MAX times to an operator: listed and counted as abandoned, not resumed again', async () => {
    const stuck = async (): Promise<string> => {
      const reply = await h.pay(merchant, card('tok_processorOutage'), ASYNC);
      await eventually(async () => (await taskState(`${reply.body.id}:authorize`)) === 'FAILURE', {
        what: `${reply.body.id} to give up`,
      });
      return reply.body.id;
    };
    const exhausted = await stuck();
    // As if the sweeper had resumed it ten times already, in vain.
    await db.query(`UPDATE payments SET resume_count = 10 WHERE id = $1`, [exhausted]);
    await makeDue(exhausted);
    const younger = await stuck();
    // The sweep takes the oldest first: once the younger one is resumed, the exhausted
    // one has been passed over.
    await sweepUntil(younger, 'succeeded');
    expect((await h.get(merchant, exhausted)).body.status).toBe('processing');
    expect(await inFlight(exhausted)).toMatchObject({ operation: 'authorize', resumes: 10 });
    expect(await taskState(`${exhausted}:authorize:resume:11`)).toBe('PENDING');
    expect(
      await h.metric('clearline_operations_in_flight', { kind: 'authorize', state: 'abandoned' }),
    ).toBe(1);
    expect(
      await h.metric('clearline_operation_oldest_age_seconds', { kind: 'authorize' }),
    ).toBeGreaterThan(0);
  });
});
