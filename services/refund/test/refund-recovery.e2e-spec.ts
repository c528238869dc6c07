/**
 * Refunds whose processor answer is lost or unknown. A refund whose first answer was
 * lost after the processor refunded (`tok_answerLost`) succeeds, once. A refund whose
 * processor is unreachable through every retry, refund and lookup alike
 * (`tok_processorOutage`, first round), is not failed and its hold is not released (the
 * customer may have been refunded): it stays `pending`, listed by
 * `GET /v1/admin/operations`, until the gateway's sweeper resumes it; then it succeeds
 * and the payment's `amount_refunded` follows.
 *
 * How: the gateway and the ledger as processes, the refund service in this process
 * (refunds harness), on real RabbitMQ and PostgreSQL. The sweeper is driven by sending
 * its task (`gateway.resume_operations`) from the refund service's TaskClient, with a
 * short `OPERATION_RESUME_AFTER_MS`; the hold is read in the ledger's tables.
 */
import { eventually, type CreatedMerchant } from '@clearline/testing';
import { startRefunds, type RefundsHarness } from './refunds-harness';

const ASYNC = { headers: { prefer: 'respond-async' } };

/**
 * Longer than any test here: an operation is due only once `makeDue` says so. The
 * gateway's own schedule sends a sweep every 30 s; with a short interval one could resume
 * the refund between its task giving up and the test reading it pending and in flight.
 */
const RESUME_AFTER_MS = 3_600_000;

describe('refund recovery: unknown is not failed', () => {
  let h: RefundsHarness;
  let merchant: CreatedMerchant;

  beforeAll(async () => {
    h = await startRefunds({ env: { OPERATION_RESUME_AFTER_MS: String(RESUME_AFTER_MS) } });
    merchant = await h.gw.createMerchant({ name: 'Recovering shop' });
  });

  afterEach(() => h.expectBalanced());

  afterAll(async () => {
    await h.close();
  });

  const taskState = async (id: string): Promise<string | undefined> =>
    (await h.db.query<{ state: string }>(`SELECT state FROM task_results WHERE id = $1`, [id]))[0]
      ?.state;

  const holdStatus = async (refundId: string): Promise<string | undefined> =>
    (
      await h.db.query<{ status: string }>(
        `SELECT status FROM ledger_pending_transfers WHERE id = $1`,
        [`${refundId}:hold`],
      )
    )[0]?.status;

  /** Moves a payment's or refund's clock back by `OPERATION_RESUME_AFTER_MS`: it is due. */
  const makeDue = async (table: 'payments' | 'refunds', id: string): Promise<void> => {
    await h.db.query(
      `UPDATE ${table}
          SET updated_at = updated_at - $2::float8 * interval '1 millisecond',
              resumed_at = resumed_at - $2::float8 * interval '1 millisecond'
        WHERE id = $1`,
      [id, RESUME_AFTER_MS],
    );
  };

  /**
   * Makes the operation due once, then sends the sweep (as the schedule would) until
   * `done` holds; once resumed it is not due again, so one resume runs at a time.
   */
  const sweepUntil = async <T>(
    due: ['payments' | 'refunds', string],
    done: () => Promise<T | false>,
    what: string,
  ): Promise<T> => {
    await makeDue(...due);
    return eventually(
      async () => {
        await h.refundService?.client.send('gateway.resume_operations', {});
        return done();
      },
      { timeoutMs: 60_000, intervalMs: 250, what },
    );
  };

  it('refunds tok_answerLost once: the retry reads back the refund the processor made', async () => {
    const payment = await h.captured(merchant, 1_200, 'tok_answerLost');
    const reply = await h.refund(merchant, { payment });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ status: 'succeeded', amount: 1_200 });
    const id = reply.body.id;
    // The processor's refund id, read back by the retry, is kept.
    expect(reply.body.processor_reference).toBe(`sandbox_re_${id}`);
    expect((await h.getRefund(merchant, id)).body.processor_reference).toBe(`sandbox_re_${id}`);
    expect(await taskState(`${id}:process`)).toBe('SUCCESS');
    const [task] = await h.db.query<{ retries: number }>(
      `SELECT retries FROM task_results WHERE id = $1`,
      [`${id}:process`],
    );
    expect(task?.retries).toBe(1);
    expect(await holdStatus(id)).toBe('posted');
    expect((await h.get(merchant, payment)).body.amount_refunded).toBe(1_200);
  });

  it('keeps a refund with an unknown outcome pending, its hold held, until the sweeper resolves it', async () => {
    const paid = await h.pay(
      merchant,
      { amount: 900, currency: 'usd', source: 'tok_processorOutage' },
      ASYNC,
    );
    expect(paid.status).toBe(202);
    const payment = paid.body.id;
    await sweepUntil(
      ['payments', payment],
      async () => (await h.get(merchant, payment)).body.status === 'succeeded',
      'the payment to be resumed and captured',
    );

    const reply = await h.refund(merchant, { payment, amount: 700 }, ASYNC);
    expect(reply.status).toBe(202);
    const id = reply.body.id;
    await eventually(async () => (await taskState(`${id}:process`)) === 'FAILURE', {
      timeoutMs: 60_000,
      what: 'the refund task to give up',
    });
    // Not failed, nothing released: the processor may have refunded the customer.
    expect((await h.getRefund(merchant, id)).body).toMatchObject({
      status: 'pending',
      failure_reason: null,
    });
    expect(await holdStatus(id)).toBe('pending');
    expect((await h.operationsInFlight()).find((o) => o.id === id)).toMatchObject({
      object: 'refund',
      status: 'pending',
      operation: 'refund',
    });

    const done = await sweepUntil(
      ['refunds', id],
      async () => {
        const refund = (await h.getRefund(merchant, id)).body;
        return refund.status !== 'pending' && refund;
      },
      'the refund to be resumed',
    );
    expect(done).toMatchObject({ status: 'succeeded', amount: 700 });
    expect(await taskState(`${id}:process:resume:1`)).toBe('SUCCESS');
    expect(await holdStatus(id)).toBe('posted');
    expect((await h.get(merchant, payment)).body.amount_refunded).toBe(700);
    expect((await h.operationsInFlight()).find((o) => o.id === id)).toBeUndefined();
  });
});
