import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  LEDGER_TASK,
  merchantAccountId,
  type AccountView,
  type BalancesResult,
  type LedgerCheckResult,
  type TransferView,
} from '@clearline/contracts';
import { formatAmount, type Account } from '@clearline/ledger-core';
import type { TaskSchedule } from '@clearline/tasks';
import type { DataSource } from 'typeorm';
import { LedgerCheckRepository } from './ledger-check.repository';
import { recordLedgerCheck } from './ledger-metrics';
import { accountView, transferView } from './ledger.mapper';
import { LedgerRepository } from './ledger.repository';

/**
 * Every hour, one ledger check (the replica leading the ledger's scheduler sends it, a
 * batch-lane worker runs it), so a broken invariant raises `ClearlineLedgerUnbalanced`
 * within the hour without anyone asking. A slot missed in a failover is still worth
 * sending for ten minutes; a check that waited ten minutes in the queue is dropped.
 */
export const LEDGER_CHECK_SCHEDULE: TaskSchedule = {
  name: 'ledger-check',
  task: LEDGER_TASK.check,
  cron: '17 * * * *',
  graceMs: 10 * 60_000,
  expiresMs: 10 * 60_000,
};

/** Money an account can still spend: posted credits less every debit, pending ones too. */
function spendable(account: Account): bigint {
  return account.creditsPosted - account.debitsPosted - account.debitsPending;
}

/** What the ledger answers without changing anything. */
@Injectable()
export class LedgerQueriesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly repository: LedgerRepository,
    private readonly checks: LedgerCheckRepository,
  ) {}

  /** The accounts that exist among `ids`, in the order asked. */
  async lookupAccounts(ids: readonly string[]): Promise<AccountView[]> {
    const found = new Map((await this.repository.findAccounts(ids)).map((a) => [a.id, a]));
    return ids.flatMap((id) => {
      const account = found.get(id);
      return account ? [accountView(account)] : [];
    });
  }

  /** The transfers that exist among `ids`, in the order asked. */
  async lookupTransfers(ids: readonly string[]): Promise<TransferView[]> {
    const rows = await this.repository.findTransfers(this.dataSource, ids);
    const found = new Map(rows.map((row) => [row.transfer.id, row]));
    return ids.flatMap((id) => {
      const row = found.get(id);
      return row ? [transferView(row.transfer, row.status, row.createdAt)] : [];
    });
  }

  /**
   * A merchant's balance per currency: `available` is what its available account can
   * spend, `pending` what its pending account holds (captured, not yet settled), both
   * net of pending debits. Currencies with nothing in them are left out.
   */
  async balances(owner: string, currency?: string): Promise<BalancesResult> {
    const accounts = await this.repository.findAccountsOfOwner(owner);
    const byId = new Map(accounts.map((a) => [a.id, a]));
    const currencies = [...new Set(accounts.map((a) => a.currency))]
      .filter((c) => currency === undefined || c === currency.toUpperCase())
      .sort();
    const line = (role: 'available' | 'pending'): BalancesResult['available'] =>
      currencies.flatMap((c) => {
        const account = byId.get(merchantAccountId(owner, role, c));
        if (!account) return [];
        const amount = spendable(account);
        return amount === 0n && account.creditsPosted === 0n
          ? []
          : [{ currency: c, amount: formatAmount(amount) }];
      });
    return { owner, available: line('available'), pending: line('pending') };
  }

  /** Runs every invariant over the whole ledger; the outcome is also counted for alerts. */
  async check(): Promise<LedgerCheckResult> {
    try {
      const result = await this.checks.check();
      recordLedgerCheck(result);
      return result;
    } catch (error) {
      recordLedgerCheck(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
  }
}
