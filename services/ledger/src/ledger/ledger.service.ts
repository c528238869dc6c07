import { strict as assert } from 'node:assert';
import { Injectable } from '@nestjs/common';
import {
  CURRENCY_EXPONENTS,
  Ledger,
  type Account,
  type AccountInput,
  type AccountResult,
  type Transfer,
  type TransferInput,
  type TransferResult,
} from '@clearline/ledger-core';
import type { EntityManager } from 'typeorm';
import { merchantAccounts, platformAccounts } from './ledger-accounts';
import { countTransferResults } from './ledger-metrics';
import { LedgerError, LedgerErrorCode } from './ledger.exception';
import { LedgerRepository, type PendingChange } from './ledger.repository';

const SUPPORTED_CURRENCIES = Object.keys(CURRENCY_EXPONENTS).sort();

function distinct(values: Iterable<string | undefined>): string[] {
  const set = new Set<string>();
  for (const value of values) if (value) set.add(value);
  return [...set].sort();
}

/**
 * The ledger's use cases on PostgreSQL. The rules are ledger-core's: a batch loads and
 * locks the rows it needs, hydrates a `Ledger`, runs the transfers through it, and
 * writes back exactly what changed, in one transaction owned by the caller.
 */
@Injectable()
export class LedgerService {
  constructor(private readonly repository: LedgerRepository) {}

  /**
   * Applies batches of transfers (one per task) in the caller's transaction; one result
   * per transfer. Batches apply in order; a linked chain never spans two batches.
   */
  async createTransfers(
    manager: EntityManager,
    batches: readonly (readonly TransferInput[])[],
    now: Date,
  ): Promise<TransferResult[][]> {
    const all = batches.flat();
    const ledger = await this.hydrate(manager, all);
    const nowS = Math.floor(now.getTime() / 1000);
    const results = batches.map((batch) => ledger.createTransfers(batch, nowS));
    const changes = ledger.drainChanges();
    if (changes.touchedAccounts.size > 0) {
      await this.repository.writeChanges(manager, {
        transfers: changes.transfers,
        createdAt: now,
        pending: pendingChanges(changes.pendingStatus, changes.transfers),
        accounts: touched(ledger, changes.touchedAccounts),
      });
    }
    countTransferResults(results);
    return results;
  }

  /**
   * Loads what the rules need to judge these transfers: transfers whose ids repeat,
   * the pending transfers they resolve (locked first), and every account involved
   * (locked in id order).
   */
  private async hydrate(manager: EntityManager, inputs: readonly TransferInput[]): Promise<Ledger> {
    const pendingIds = distinct(inputs.map((t) => t.pendingId));
    await this.repository.lockPendings(manager, pendingIds);
    const stored = await this.repository.findTransfers(
      manager,
      distinct([...inputs.map((t) => t.id), ...pendingIds]),
    );
    const accountIds = distinct([
      ...inputs.flatMap((t) => [t.debitAccountId, t.creditAccountId]),
      ...stored.flatMap((s) => [s.transfer.debitAccountId, s.transfer.creditAccountId]),
    ]);
    const ledger = new Ledger();
    for (const account of await this.repository.lockAccounts(manager, accountIds)) {
      ledger.loadAccount(account);
    }
    for (const { transfer, status } of stored) {
      ledger.loadTransfer(transfer, status ?? undefined);
    }
    return ledger;
  }

  /** Creates accounts in the caller's transaction; one result per account. */
  async createAccounts(
    manager: EntityManager,
    inputs: readonly AccountInput[],
  ): Promise<AccountResult[]> {
    const ledger = new Ledger();
    const existing = await this.repository.lockAccounts(manager, distinct(inputs.map((a) => a.id)));
    for (const account of existing) ledger.loadAccount(account);
    const results = ledger.createAccounts(inputs);
    const { accounts } = ledger.drainChanges();
    const inserted = await this.repository.insertAccounts(manager, accounts);
    // Rows locked above cannot change behind our back; a concurrent insert of a new id can.
    if (inserted.size !== accounts.length) {
      throw new LedgerError(
        `${accounts.length - inserted.size} of ${accounts.length} new accounts were inserted by another transaction`,
        LedgerErrorCode.AccountsCreatedConcurrently,
      );
    }
    return results;
  }

  /** A merchant's accounts in every supported currency: it can be paid in any from day one. */
  openMerchant(manager: EntityManager, merchantId: string): Promise<AccountResult[]> {
    return this.createAccounts(manager, merchantAccounts(merchantId, SUPPORTED_CURRENCIES));
  }

  /** The platform's own accounts; created at start-up, idempotently. */
  openPlatform(manager: EntityManager): Promise<AccountResult[]> {
    return this.createAccounts(manager, platformAccounts(SUPPORTED_CURRENCIES));
  }
}

/** The touched accounts as the ledger holds them now, in id order. */
export function touched(ledger: Ledger, ids: ReadonlySet<string>): Account[] {
  return [...ids].sort().map((id) => {
    const account = ledger.accounts.get(id);
    assert(account !== undefined, 'a touched account is loaded');
    return account;
  });
}

function pendingChanges(
  statuses: ReadonlyMap<string, PendingChange['status']>,
  created: readonly Transfer[],
): PendingChange[] {
  const expiry = new Map(
    created
      .filter((t) => t.flags.pending)
      .map((t) => [t.id, t.timeoutS > 0 ? t.timestampS + t.timeoutS : null]),
  );
  return [...statuses]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, status]) => ({ id, status, expiresAtS: expiry.get(id) ?? null }));
}
