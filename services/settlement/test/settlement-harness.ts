/**
 * Settlement end to end: the gateway, the ledger, the refund and the settlement services
 * as their own processes on the test file's own vhost and database. Tests make payments and refunds through the REST API, start runs, and read
 * what settlement wrote.
 */
import {
  eventually,
  isolatedInfrastructure,
  paymentsApi,
  SERVICE_START_TIMEOUT_MS,
  startPlatform,
  type ApiClient,
  type CreatedMerchant,
  type IsolatedInfrastructure,
  type PaymentsApi,
  type Platform,
  type TestDatabase,
} from '@clearline/testing';

jest.setTimeout(SERVICE_START_TIMEOUT_MS);

export interface SettlementHarness extends PaymentsApi {
  infra: IsolatedInfrastructure;
  platform: Platform;
  gw: ApiClient;
  db: TestDatabase;
  /** Writes a captured payment's ledger postings stamped `at` (a fixture: the ledger's own rows). */
  postedCapture(merchant: CreatedMerchant, amount: number, at: Date): Promise<string>;
  /** Starts (or finds) the run of `cutOffS` (POST /v1/admin/settlement_runs): 201 new, 200 found. */
  startRun(cutOffS: number): Promise<RunObject & { is_new: boolean }>;
  /** Waits until the run is no longer running; returns its row. */
  runEnded(runId: string): Promise<RunRow>;
  /** Unix seconds a little after every posting made so far (they are all in). */
  cutOffNow(): Promise<number>;
  close(): Promise<void>;
}

export interface RunObject {
  id: string;
  object: 'settlement_run';
  cut_off: number;
  status: string;
  merchants: number;
  created: number;
}

export interface RunRow {
  id: string;
  status: string;
  merchants: number;
}

export interface SettlementDbRow {
  id: string;
  merchant_id: string;
  currency: string;
  count: number;
  gross: string;
  refunds: string;
  fees: string;
  net: string;
  fees_owed_in: string;
  fees_owed_out: string;
  to_available: string;
  payout_id: string | null;
  status: string;
}

export async function startSettlement(
  options: { env?: Record<string, string> } = {},
): Promise<SettlementHarness> {
  const infra = await isolatedInfrastructure();
  const platform = await startPlatform({
    infra,
    services: ['gateway', 'ledger', 'refund', 'settlement'],
    env: { settlement: options.env ?? {} },
  });
  const db = platform.db;
  const harness: SettlementHarness = {
    ...paymentsApi(platform.gw),
    infra,
    platform,
    gw: platform.gw,
    db,
    postedCapture: (merchant, amount, at) => postedCapture(db, merchant, amount, at),
    startRun: async (cutOffS) => {
      const reply = await platform.gw.call<RunObject>('POST', '/v1/admin/settlement_runs', {
        body: { cut_off: cutOffS },
      });
      if (reply.status !== 201 && reply.status !== 200) {
        throw new Error(`starting the run of ${cutOffS}: ${reply.status} ${reply.text}`);
      }
      return { ...reply.body, is_new: reply.status === 201 };
    },
    runEnded: async (runId) => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const [run] = await db.query<RunRow>(
          `SELECT id, status, merchants FROM settlement_runs WHERE id = $1`,
          [runId],
        );
        if (run !== undefined && run.status !== 'running') return run;
        if (Date.now() > deadline) {
          const tasks = await db.query(
            `SELECT id, task, state, error_type, error_message FROM task_results
              WHERE task LIKE 'settlement.%' ORDER BY created_at`,
          );
          const merchants = await db.query(
            `SELECT merchant_id, status, failure_message FROM settlement_run_merchants
              WHERE run_id = $1`,
            [runId],
          );
          throw new Error(
            `run ${runId} still running after 120 s: ${JSON.stringify({ tasks, merchants })}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    cutOffNow: async () => {
      // Postings are stamped by the database's clock: wait until it is past the second
      // of the latest one, then cut off at that second.
      const [row] = await db.query<{ s: string }>(
        `SELECT ceil(extract(epoch FROM coalesce(max(created_at), now())))::bigint AS s
           FROM ledger_transfers`,
      );
      const cutOff = Number(row?.s ?? 0);
      for (;;) {
        const [now] = await db.query<{ s: string }>(`SELECT extract(epoch FROM now()) AS s`);
        if (Number(now?.s) > cutOff) return cutOff;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    close: async () => {
      await platform.close();
      await infra.destroy();
    },
  };
  return harness;
}

export async function settlementsOf(
  db: TestDatabase,
  merchant: CreatedMerchant,
): Promise<SettlementDbRow[]> {
  return db.query<SettlementDbRow>(
    `SELECT id, merchant_id, currency, count, gross, refunds, fees, net, fees_owed_in,
            fees_owed_out, to_available, payout_id, status
       FROM settlements WHERE merchant_id = $1 ORDER BY created_at, currency`,
    [merchant.id],
  );
}

let fixtureCount = 0;

/**
 * What the gateway and the ledger write for an automatically captured payment, in the
 * ledger's tables, with the time the test needs: the pending authorization and its
 * posting, and the balances they move. The ledger's invariants hold after it.
 */
async function postedCapture(
  db: TestDatabase,
  merchant: CreatedMerchant,
  amount: number,
  at: Date,
): Promise<string> {
  fixtureCount += 1;
  const payment = `pay_fixture${process.pid}x${fixtureCount}`;
  const pending = `${merchant.id}:pending:USD`;
  const clearing = 'platform:clearing:USD';
  // The ledger opens a new merchant's accounts from a task: wait for them.
  await eventually(
    async () =>
      (await db.query(`SELECT 1 FROM ledger_accounts WHERE id = $1`, [pending])).length === 1,
    { what: `${pending} opened` },
  );
  await db.query(
    `WITH transfers AS (
       INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, currency,
         code, pending, post_pending, linked, pending_id, created_at)
       VALUES ($1 || ':auth', $2, $3, $4, 'USD', 1, true, false, true, NULL, $5),
              ($1 || ':capture', $2, $3, $4, 'USD', 2, false, true, false, $1 || ':auth', $5)
       RETURNING id),
     pendings AS (
       INSERT INTO ledger_pending_transfers (id, status, expires_at)
       VALUES ($1 || ':auth', 'posted', NULL) RETURNING id),
     credit AS (
       UPDATE ledger_accounts SET credits_posted = credits_posted + $4 WHERE id = $3 RETURNING id)
     UPDATE ledger_accounts SET debits_posted = debits_posted + $4 WHERE id = $2`,
    [payment, clearing, pending, amount, at],
  );
  return payment;
}
