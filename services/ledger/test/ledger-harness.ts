import {
  LEDGER_TASK,
  type CreateAccountsResult,
  type CreateTransfersResult,
  type LedgerCheckResult,
  type TransferWire,
} from '@clearline/contracts';
import { checkLedger, type LedgerCheck } from '@clearline/ledger-core';
import { startTaskApp, type IsolatedInfrastructure, type TaskApp } from '@clearline/testing';
import { LedgerFeatureModule } from '../src/ledger/ledger.module';
import {
  accountFromRow,
  transferFromRow,
  type AccountRow,
  type TransferRow,
} from '../src/ledger/ledger.rows';

/**
 * The ledger service's task handlers in this process, on the test file's own vhost and
 * database; `env` overrides its environment (a prefetch, a DATABASE_URL with options).
 */
export function startLedger(
  infra: IsolatedInfrastructure,
  env: Record<string, string> = {},
): Promise<TaskApp> {
  return startTaskApp({
    infra,
    service: 'ledger',
    imports: [LedgerFeatureModule],
    env: { TASK_PREFETCH: '2000', ...env },
  });
}

export async function createTransfers(
  ledger: TaskApp,
  transfers: TransferWire[],
): Promise<string[]> {
  const handle = await ledger.client.send<CreateTransfersResult>(LEDGER_TASK.createTransfers, {
    transfers,
  });
  return (await handle.result()).results;
}

export async function createAccounts(ledger: TaskApp, accounts: unknown[]): Promise<string[]> {
  const handle = await ledger.client.send<CreateAccountsResult>(LEDGER_TASK.createAccounts, {
    accounts,
  });
  return (await handle.result()).results;
}

export async function ledgerCheck(ledger: TaskApp): Promise<LedgerCheckResult> {
  const handle = await ledger.client.send<LedgerCheckResult>(LEDGER_TASK.check, {});
  return handle.result();
}

/** The same database judged by ledger-core's reference check: the SQL check must agree. */
export async function referenceCheck(ledger: TaskApp): Promise<LedgerCheck> {
  const accounts: AccountRow[] = await ledger.dataSource.query(`SELECT * FROM ledger_accounts`);
  const transfers: TransferRow[] = await ledger.dataSource.query(
    `SELECT t.*, p.status AS pending_status
       FROM ledger_transfers t LEFT JOIN ledger_pending_transfers p ON p.id = t.id`,
  );
  const statuses = new Map(
    transfers.flatMap((t) => (t.pending_status ? [[t.id, t.pending_status] as const] : [])),
  );
  return checkLedger(accounts.map(accountFromRow), transfers.map(transferFromRow), statuses);
}

/** An account's four balances as the database holds them. */
export async function balances(
  ledger: TaskApp,
  id: string,
): Promise<{ dp: string; dpo: string; cp: string; cpo: string } | undefined> {
  const rows: { dp: string; dpo: string; cp: string; cpo: string }[] =
    await ledger.dataSource.query(
      `SELECT debits_pending AS dp, debits_posted AS dpo, credits_pending AS cp, credits_posted AS cpo
       FROM ledger_accounts WHERE id = $1`,
      [id],
    );
  return rows[0];
}
