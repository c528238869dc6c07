/**
 * The refund service through its task, on real RabbitMQ and PostgreSQL with the real
 * ledger: a refund holds the money in the ledger before the processor is asked, posts
 * the hold when the processor refunds and releases it when the processor refuses, pays
 * from the merchant's pending balance first and its available balance second, fails
 * with `insufficient_funds` (never a negative balance) when neither covers it, retries
 * transient processor failures, and announces each outcome to the gateway exactly once.
 *
 * How: the refund service's task handlers run in this process, the ledger as its own
 * process (libs/testing's service process), on the file's own vhost and database. Captured payments are put in the ledger directly (the
 * transfers the gateway sends); refunds are `refund.process_refund` tasks; the test reads
 * the task results, the ledger's balances, `refund_jobs` and the outbox.
 */
import {
  LEDGER_TASK,
  merchantAccountId,
  platformAccountId,
  REFUND_TASK,
  TRANSFER_CODE,
  type CreateTransfersResult,
  type LedgerCheckResult,
} from '@clearline/contracts';
import {
  eventually,
  isolatedInfrastructure,
  SERVICE_START_TIMEOUT_MS,
  startServiceOnFreePort,
  sendAs,
  startTaskApp,
  type IsolatedInfrastructure,
  type ServiceProcess,
  type TaskApp,
} from '@clearline/testing';
import { RefundsModule } from '../src/refunds/refunds.module';

const M = 'mer_refunds';
let seq = 0;
const next = (prefix: string): string => `${prefix}_t${(seq += 1)}`;

describe('refund processing', () => {
  let infra: IsolatedInfrastructure;
  let app: TaskApp;
  let ledgerService: ServiceProcess | undefined;

  const balance = async (role: 'pending' | 'available', currency = 'USD'): Promise<bigint> => {
    const [row] = await app.db.query<{ cpo: string; dpo: string; dp: string }[]>(
      `SELECT credits_posted AS cpo, debits_posted AS dpo, debits_pending AS dp
         FROM ledger_accounts WHERE id = $1`,
      [merchantAccountId(M, role, currency)],
    );
    return BigInt(row?.cpo ?? 0) - BigInt(row?.dpo ?? 0) - BigInt(row?.dp ?? 0);
  };

  const ledger = async (transfers: object[]): Promise<string[]> =>
    (
      await (
        await app.client.send<CreateTransfersResult>(LEDGER_TASK.createTransfers, { transfers })
      ).result()
    ).results;

  /** A captured payment as the gateway books it: clearing → merchant pending. */
  const capturedPayment = async (amount: number): Promise<string> => {
    const id = next('pay');
    expect(
      await ledger([
        {
          id: `${id}:capture`,
          debit_account_id: platformAccountId('clearing', 'USD'),
          credit_account_id: merchantAccountId(M, 'pending', 'USD'),
          amount,
          currency: 'USD',
          code: TRANSFER_CODE.capture,
        },
      ]),
    ).toEqual(['ok']);
    return id;
  };

  const refund = async (
    paymentId: string,
    amount: number,
    source = 'tok_visa',
  ): Promise<{
    id: string;
    taskId: string;
    result: { status: string; failure_reason: string | null; processor_reference: string | null };
  }> => {
    const id = next('re');
    const handle = await app.client.send<{
      status: string;
      failure_reason: string | null;
      processor_reference: string | null;
    }>(REFUND_TASK.process, {
      refund_id: id,
      payment_id: paymentId,
      merchant_id: M,
      amount: String(amount),
      currency: 'usd',
      source,
    });
    return { id, taskId: handle.id, result: await handle.result({ timeoutMs: 30_000 }) };
  };

  const settledMessages = async (refundId: string): Promise<number> => {
    const [row] = await app.db.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM task_outbox WHERE task = $1 AND task_id = $2`,
      [REFUND_TASK.settled, `${refundId}:settled`],
    );
    return row?.n ?? 0;
  };

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    const [refund, ledger] = await Promise.allSettled([
      startTaskApp({
        infra,
        service: 'refund',
        imports: [RefundsModule],
        env: { PAYMENT_PROCESSOR: 'sandbox' },
      }),
      startServiceOnFreePort('ledger', infra.env),
    ]);
    if (refund.status === 'fulfilled') app = refund.value;
    if (ledger.status === 'fulfilled') ledgerService = ledger.value;
    if (refund.status === 'rejected') throw refund.reason;
    if (ledger.status === 'rejected') throw ledger.reason;
    // Only the gateway may open a merchant's accounts.
    await sendAs(infra, 'gateway', LEDGER_TASK.openMerchant, { merchant_id: M });
  }, SERVICE_START_TIMEOUT_MS);

  afterEach(async () => {
    const check = await (await app.client.send<LedgerCheckResult>(LEDGER_TASK.check, {})).result();
    expect(check.violations).toEqual([]);
  });

  afterAll(async () => {
    // Whatever started, even if beforeAll failed half-way.
    await Promise.all([(app as TaskApp | undefined)?.close(), ledgerService?.stop()]);
    await (infra as IsolatedInfrastructure | undefined)?.destroy();
  });

  it('refunds from the merchant’s pending balance and tells the gateway once', async () => {
    const payment = await capturedPayment(5_000);
    const before = await balance('pending');
    const { id, result } = await refund(payment, 2_000);
    expect(result).toEqual({
      status: 'succeeded',
      failure_reason: null,
      processor_reference: `sandbox_re_${id}`,
    });
    expect(before - (await balance('pending'))).toBe(2_000n);
    const [job] = await app.db.query<{ status: string; funded_from: string }[]>(
      `SELECT status, funded_from FROM refund_jobs WHERE refund_id = $1`,
      [id],
    );
    expect(job).toEqual({ status: 'succeeded', funded_from: 'pending' });
    expect(await settledMessages(id)).toBe(1);
    // The outcome tells the gateway the processor's refund id, for the refund to keep.
    const [message] = await app.db.query<{ body: string }[]>(
      `SELECT convert_from(body, 'UTF8') AS body FROM task_outbox WHERE task = $1 AND task_id = $2`,
      [REFUND_TASK.settled, `${id}:settled`],
    );
    expect(message?.body).toContain(`"processor_reference":"sandbox_re_${id}"`);
  });

  it('runs a redelivered refund task without a second hold, post or announcement', async () => {
    const payment = await capturedPayment(1_000);
    const { id } = await refund(payment, 1_000);
    const after = await balance('pending');
    const again = await app.client.send<{ status: string }>(REFUND_TASK.process, {
      refund_id: id,
      payment_id: payment,
      merchant_id: M,
      amount: '1000',
      currency: 'usd',
      source: 'tok_visa',
    });
    await expect(again.result()).resolves.toMatchObject({ status: 'succeeded' });
    expect(await balance('pending')).toBe(after);
    expect(await settledMessages(id)).toBe(1);
  });

  it('dead-letters a malformed refund task with the reason, holding nothing', async () => {
    const handle = await app.client.send(REFUND_TASK.process, {
      refund_id: 're_bad',
      payment_id: 'pay_x',
      merchant_id: M,
      amount: '-5',
      currency: 'usd',
      source: 'tok_visa',
    });
    const record = await handle.settled();
    expect(record.state).toBe('FAILURE');
    await eventually(
      async () =>
        (await app.deadLetters.list({ queue: 'refund' })).some(
          (d) => d.id === handle.id && d.reason === 'invalid-payload',
        ),
      { what: 'the malformed refund task in the dead-letter queue' },
    );
    const [jobs] = await app.db.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM refund_jobs WHERE refund_id = 're_bad'`,
    );
    expect(jobs?.n).toBe(0);
  });

  it('releases the hold when the processor refuses (tok_refundFail): the balance is as before', async () => {
    const payment = await capturedPayment(3_000);
    const before = await balance('pending');
    const { id, result } = await refund(payment, 3_000, 'tok_refundFail');
    expect(result).toEqual({
      status: 'failed',
      failure_reason: 'expired_or_canceled_card',
      processor_reference: null,
    });
    expect(await balance('pending')).toBe(before);
    const [voided] = await app.db.query<{ status: string }[]>(
      `SELECT status FROM ledger_pending_transfers WHERE id = $1`,
      [`${id}:hold`],
    );
    expect(voided?.status).toBe('voided');
    expect(await settledMessages(id)).toBe(1);
  });

  it('retries a processor that is unavailable, then refunds (tok_processorUnavailable)', async () => {
    const payment = await capturedPayment(700);
    const { id, taskId, result } = await refund(payment, 700, 'tok_processorUnavailable');
    expect(result.status).toBe('succeeded');
    const [record] = await app.db.query<{ retries: number }[]>(
      `SELECT retries FROM task_results WHERE id = $1`,
      [taskId],
    );
    expect(record?.retries).toBe(2);
    expect(await settledMessages(id)).toBe(1);
  });

  it('fails a refund whose processor stays down through every retry, and releases its hold', async () => {
    const payment = await capturedPayment(400);
    const before = await balance('pending');
    const { id, taskId, result } = await refund(payment, 400, 'tok_processorDown');
    expect(result).toEqual({
      status: 'failed',
      failure_reason: 'processor_unavailable',
      processor_reference: null,
    });
    const [record] = await app.db.query<{ retries: number }[]>(
      `SELECT retries FROM task_results WHERE id = $1`,
      [taskId],
    );
    expect(record?.retries).toBe(4);
    const [hold] = await app.db.query<{ status: string }[]>(
      `SELECT status FROM ledger_pending_transfers WHERE id = $1`,
      [`${id}:hold`],
    );
    expect(hold?.status).toBe('voided');
    expect(await balance('pending')).toBe(before);
    expect(await settledMessages(id)).toBe(1);
  });

  it('pays from the available balance when pending cannot cover it, and fails insufficient_funds when neither can', async () => {
    // Move everything pending to available, as a settlement would.
    const pending = await balance('pending');
    expect(
      await ledger([
        {
          id: next('settle'),
          debit_account_id: merchantAccountId(M, 'pending', 'USD'),
          credit_account_id: merchantAccountId(M, 'available', 'USD'),
          amount: pending.toString(),
          currency: 'USD',
          code: TRANSFER_CODE.settlement,
        },
      ]),
    ).toEqual(['ok']);
    const available = await balance('available');
    const payment = await capturedPayment(100);
    const { id, result } = await refund(payment, Number(available));
    expect(result.status).toBe('succeeded');
    const [job] = await app.db.query<{ funded_from: string }[]>(
      `SELECT funded_from FROM refund_jobs WHERE refund_id = $1`,
      [id],
    );
    expect(job?.funded_from).toBe('available');
    expect(await balance('available')).toBe(0n);

    const short = await refund(payment, 101);
    expect(short.result).toEqual({
      status: 'failed',
      failure_reason: 'insufficient_funds',
      processor_reference: null,
    });
    expect(await balance('available')).toBe(0n);
    expect(await balance('pending')).toBe(100n);
  });
});
