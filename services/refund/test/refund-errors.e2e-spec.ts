/**
 * Refund processing retries only what is transient. A database fault (a CHECK
 * violation) and a ledger fault (a merchant without accounts) dead-letter the
 * `refund.process_refund` task after one attempt, with the reason, and nothing is
 * announced to the gateway; a lock timeout is retried and the refund then succeeds.
 *
 * How: the refund service's task handlers run in this process, the ledger as its own
 * process, on the file's own vhost and database. The CHECK is one the test adds for the
 * occasion (`NOT VALID`, dropped afterwards) that one payment id breaks. The lock
 * timeout: the refund service's connections carry `lock_timeout` (in DATABASE_URL); the
 * test writes the refund's job as an earlier delivery would have left it and holds it
 * locked until it has seen the task recorded RETRY, then lets go.
 */
import {
  LEDGER_TASK,
  merchantAccountId,
  platformAccountId,
  REFUND_TASK,
  TRANSFER_CODE,
  type CreateTransfersResult,
  type LedgerCheckResult,
  type ProcessRefundPayload,
  type ProcessRefundResult,
} from '@clearline/contracts';
import { Client } from 'pg';
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

const M = 'mer_refundErrors';
/** How long a refund statement waits for a lock before PostgreSQL cancels it (55P03). */
const LOCK_TIMEOUT_MS = 2_000;

function withLockTimeout(databaseUrl: string, timeoutMs: number): string {
  const url = new URL(databaseUrl);
  url.searchParams.set('options', `-c lock_timeout=${timeoutMs}`);
  return url.toString();
}

let seq = 0;
const next = (prefix: string): string => `${prefix}${(seq += 1)}`;

describe('refund task errors', () => {
  let infra: IsolatedInfrastructure;
  let app: TaskApp;
  let ledgerService: ServiceProcess | undefined;
  let db: Client;

  /** A captured payment as the gateway books it: clearing → merchant pending. */
  const capturedPayment = async (amount: number): Promise<string> => {
    const id = next('pay_e');
    const handle = await app.client.send<CreateTransfersResult>(LEDGER_TASK.createTransfers, {
      transfers: [
        {
          id: `${id}:capture`,
          debit_account_id: platformAccountId('clearing', 'USD'),
          credit_account_id: merchantAccountId(M, 'pending', 'USD'),
          amount,
          currency: 'USD',
          code: TRANSFER_CODE.capture,
        },
      ],
    });
    expect((await handle.result()).results).toEqual(['ok']);
    return id;
  };

  const refundPayload = (paymentId: string, amount: number, merchantId = M) => ({
    refund_id: next('re_e'),
    payment_id: paymentId,
    merchant_id: merchantId,
    amount: String(amount),
    currency: 'usd',
    source: 'tok_visa',
  });

  const sendRefund = (payload: ProcessRefundPayload) =>
    app.client.send<ProcessRefundResult>(REFUND_TASK.process, payload);

  const deadLetter = (taskId: string) =>
    eventually(
      async () => (await app.deadLetters.list({ queue: 'refund' })).find((d) => d.id === taskId),
      { what: 'the refund task in the dead-letter queue' },
    );

  const settledMessages = async (refundId: string): Promise<number> => {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM task_outbox WHERE task = $1 AND task_id = $2`,
      [REFUND_TASK.settled, `${refundId}:settled`],
    );
    return rows[0]?.n ?? 0;
  };

  const holdStatus = async (refundId: string): Promise<string | null> => {
    const { rows } = await db.query<{ status: string }>(
      `SELECT status FROM ledger_pending_transfers WHERE id = $1`,
      [`${refundId}:hold`],
    );
    return rows[0]?.status ?? null;
  };

  const jobStatus = async (refundId: string): Promise<string | null> => {
    const { rows } = await db.query<{ status: string }>(
      `SELECT status FROM refund_jobs WHERE refund_id = $1`,
      [refundId],
    );
    return rows[0]?.status ?? null;
  };

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    const [refund, ledger] = await Promise.allSettled([
      startTaskApp({
        infra,
        service: 'refund',
        imports: [RefundsModule],
        env: {
          PAYMENT_PROCESSOR: 'sandbox',
          DATABASE_URL: withLockTimeout(infra.databaseUrl, LOCK_TIMEOUT_MS),
        },
      }),
      startServiceOnFreePort('ledger', infra.env),
    ]);
    if (refund.status === 'fulfilled') app = refund.value;
    if (ledger.status === 'fulfilled') ledgerService = ledger.value;
    if (refund.status === 'rejected') throw refund.reason;
    if (ledger.status === 'rejected') throw ledger.reason;
    db = new Client({ connectionString: infra.databaseUrl });
    await db.connect();
    // Only the gateway may open a merchant's accounts.
    await sendAs(infra, 'gateway', LEDGER_TASK.openMerchant, { merchant_id: M });
  }, SERVICE_START_TIMEOUT_MS);

  afterEach(async () => {
    const check = await (await app.client.send<LedgerCheckResult>(LEDGER_TASK.check, {})).result();
    expect(check.violations).toEqual([]);
  });

  afterAll(async () => {
    // Each may be missing when beforeAll failed half-way.
    await (db as Client | undefined)?.end();
    await Promise.all([(app as TaskApp | undefined)?.close(), ledgerService?.stop()]);
    await (infra as IsolatedInfrastructure | undefined)?.destroy();
  });

  it('dead-letters a refund whose job breaks a CHECK after one attempt, with the reason, and changes nothing', async () => {
    await db.query(
      `ALTER TABLE refund_jobs ADD CONSTRAINT errors_test_payment CHECK (payment_id <> 'pay_checkFault') NOT VALID`,
    );
    try {
      const payload = refundPayload('pay_checkFault', 300);
      const handle = await sendRefund(payload);
      const record = await handle.settled({ timeoutMs: 30_000 });
      expect(record).toMatchObject({ state: 'FAILURE', retries: 0, errorType: 'QueryFailedError' });
      expect(record.errorMessage).toMatch(/violates check constraint "errors_test_payment"/);
      expect(await deadLetter(handle.id)).toMatchObject({ reason: 'failed' });
      expect(await jobStatus(payload.refund_id)).toBeNull();
      expect(await holdStatus(payload.refund_id)).toBeNull();
      expect(await settledMessages(payload.refund_id)).toBe(0);
    } finally {
      await db.query(`ALTER TABLE refund_jobs DROP CONSTRAINT errors_test_payment`);
    }
  });

  it('dead-letters a refund the ledger refuses as a fault (no accounts) after one attempt, with the code', async () => {
    const payload = refundPayload('pay_noLedger', 300, 'mer_noAccounts');
    const handle = await sendRefund(payload);
    const record = await handle.settled({ timeoutMs: 30_000 });
    expect(record).toMatchObject({ state: 'FAILURE', retries: 0, errorType: 'RefundError' });
    expect(record.errorMessage).toMatch(/^accounts_not_open: hold:pending of re_e\d+ refused/);
    expect(await deadLetter(handle.id)).toMatchObject({ reason: 'failed' });
    // The job waits, processing, for an operator; nothing reached the gateway.
    expect(await jobStatus(payload.refund_id)).toBe('processing');
    expect(await holdStatus(payload.refund_id)).toBeNull();
    expect(await settledMessages(payload.refund_id)).toBe(0);
  });

  it('retries a refund whose statement timed out waiting for a lock, and then refunds', async () => {
    const payload = refundPayload(await capturedPayment(400), 400);
    // The job as an earlier delivery would have left it, locked by the test.
    await db.query(
      `INSERT INTO refund_jobs (refund_id, payment_id, merchant_id, amount, currency, status)
       VALUES ($1, $2, $3, $4, $5, 'processing')`,
      [payload.refund_id, payload.payment_id, M, payload.amount, payload.currency],
    );
    await db.query('BEGIN');
    let rolledBack = false;
    try {
      await db.query(`SELECT refund_id FROM refund_jobs WHERE refund_id = $1 FOR UPDATE`, [
        payload.refund_id,
      ]);
      const handle = await sendRefund(payload);
      // The lock is held until the first attempt has failed on it, so this is certain.
      const retry = await eventually(
        async () => {
          const record = await handle.state();
          return record?.state === 'RETRY' ? record : undefined;
        },
        { what: 'the refund task recorded RETRY after a lock timeout' },
      );
      expect(retry).toMatchObject({ retries: 0, errorType: 'QueryFailedError' });
      expect(retry.errorMessage).toMatch(/lock timeout/);
      await db.query('ROLLBACK');
      rolledBack = true;

      expect(await handle.result({ timeoutMs: 30_000 })).toEqual({
        status: 'succeeded',
        failure_reason: null,
        processor_reference: `sandbox_re_${payload.refund_id}`,
      });
      expect((await handle.state())?.retries).toBeGreaterThanOrEqual(1);
      expect(await holdStatus(payload.refund_id)).toBe('posted');
      expect(await settledMessages(payload.refund_id)).toBe(1);
    } finally {
      if (!rolledBack) await db.query('ROLLBACK');
    }
  });
});
