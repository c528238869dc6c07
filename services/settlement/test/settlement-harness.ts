/**
 * Settlement end to end: the gateway, the ledger, the refund and the settlement services
 * as their own processes on the test file's own vhost and database, and a task client in
 * this process. Tests make payments and refunds through the REST API, start runs, and read
 * what settlement wrote.
 */
import {
  isolatedInfrastructure,
  paymentsApi,
  SERVICE_START_TIMEOUT_MS,
  startPlatform,
  startTaskApp,
  type ApiClient,
  type CreatedMerchant,
  type IsolatedInfrastructure,
  type PaymentsApi,
  type Platform,
  type TaskApp,
  type TestDatabase,
} from '@clearline/testing';
import { SETTLEMENT_TASK, type SettlementRunResult } from '@clearline/contracts';

jest.setTimeout(SERVICE_START_TIMEOUT_MS);

export interface SettlementHarness extends PaymentsApi {
  infra: IsolatedInfrastructure;
  platform: Platform;
  gw: ApiClient;
  db: TestDatabase;
  client: TaskApp;
  /** Starts (or finds) the run of `cutOffS` through the settlement task. */
  startRun(cutOffS: number): Promise<SettlementRunResult>;
  /** Waits until the run is no longer running; returns its row. */
  runEnded(runId: string): Promise<RunRow>;
  /** Unix seconds a little after every posting made so far (they are all in). */
  cutOffNow(): Promise<number>;
  close(): Promise<void>;
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
  const client = await startTaskApp({ infra, service: 'settlement-test' });
  const db = platform.db;
  const harness: SettlementHarness = {
    ...paymentsApi(platform.gw),
    infra,
    platform,
    gw: platform.gw,
    db,
    client,
    startRun: async (cutOffS) => {
      const handle = await client.client.send<SettlementRunResult>(SETTLEMENT_TASK.startRun, {
        cut_off: cutOffS,
      });
      return handle.result({ timeoutMs: 30_000 });
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
      await client.close();
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
