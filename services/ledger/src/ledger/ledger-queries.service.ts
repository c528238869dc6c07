import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  merchantAccountId,
  type AccountView,
  type BalancesResult,
  type LedgerCheckResult,
  type TransferView,
} from '@clearline/contracts';
import { formatAmount, type Account } from '@clearline/ledger-core';
import type { DataSource } from 'typeorm';
import { LedgerCheckRepository } from './ledger-check.repository';
import { accountView, transferView } from './ledger.mapper';
import { LedgerRepository } from './ledger.repository';

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

  check(): Promise<LedgerCheckResult> {
    return this.checks.check();
  }
}
