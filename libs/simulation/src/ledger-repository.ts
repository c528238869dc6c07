import type { Account, AccountInput, PendingStatus, Transfer } from '@clearline/ledger-core';
import type { EntityManager } from 'typeorm';
import { LedgerError, LedgerErrorCode } from '../../../services/ledger/src/ledger/ledger.exception';
import type {
  BatchWrite,
  LedgerRepository,
} from '../../../services/ledger/src/ledger/ledger.repository';
import { Tx, type MemoryDatabase } from './database';

/** The part of `LedgerRepository` that `LedgerService` uses to apply transfers and open accounts. */
export type LedgerRepositoryPort = Pick<
  LedgerRepository,
  'lockPendings' | 'lockAccounts' | 'findTransfers' | 'writeChanges' | 'insertAccounts'
>;

/** The simulation's transaction travels where the service passes TypeORM's manager. */
export function asManager(tx: Tx): EntityManager {
  return tx as unknown as EntityManager;
}

function txOf(manager: unknown): Tx {
  if (!(manager instanceof Tx)) throw new TypeError('the simulated repository needs its own Tx');
  return manager;
}

const byId = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function copyAccount(account: Account): Account {
  return { ...account, flags: { ...account.flags } };
}

function copyTransfer(transfer: Transfer): Transfer {
  return { ...transfer, flags: { ...transfer.flags } };
}

/**
 * `LedgerRepository` over the in-memory database, statement for statement: the same
 * locks in the same order (pending rows, then accounts, each sorted), the same reads,
 * and one write of what a batch changed. A transfer id committed by another transaction
 * after this one read the transfers is the same lost race the SQL reports
 * (`TransfersCreatedConcurrently`, from the unique violation on the primary key).
 */
export class MemoryLedgerRepository implements LedgerRepositoryPort {
  constructor(private readonly db: MemoryDatabase) {}

  async lockPendings(manager: EntityManager, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const tx = txOf(manager);
    await this.db.statement(tx, 'lock pendings');
    for (const id of [...ids].sort(byId)) {
      if (this.db.read(tx, 'pending', id)) await this.db.lock(tx, `pending:${id}`);
    }
  }

  async lockAccounts(manager: EntityManager, ids: readonly string[]): Promise<Account[]> {
    if (ids.length === 0) return [];
    const tx = txOf(manager);
    await this.db.statement(tx, 'lock accounts');
    const accounts: Account[] = [];
    for (const id of [...ids].sort(byId)) {
      if (!this.db.read(tx, 'accounts', id)) continue;
      await this.db.lock(tx, `account:${id}`);
      const account = this.db.read(tx, 'accounts', id);
      if (account) accounts.push(copyAccount(account));
    }
    return accounts;
  }

  async findTransfers(
    manager: EntityManager,
    ids: readonly string[],
  ): Promise<{ transfer: Transfer; status: PendingStatus | null; createdAt: Date }[]> {
    if (ids.length === 0) return [];
    const tx = txOf(manager);
    await this.db.statement(tx, 'find transfers');
    return ids.flatMap((id) => {
      const stored = this.db.read(tx, 'transfers', id);
      if (!stored) return [];
      const status = this.db.read(tx, 'pending', id)?.status ?? null;
      return [{ transfer: copyTransfer(stored.transfer), status, createdAt: stored.createdAt }];
    });
  }

  async writeChanges(manager: EntityManager, changes: BatchWrite): Promise<void> {
    const tx = txOf(manager);
    await this.db.statement(tx, 'write changes');
    for (const transfer of changes.transfers) {
      // A new key another open transaction inserted waits for its outcome, as PostgreSQL does.
      await this.db.lock(tx, `transfer:${transfer.id}`);
      if (this.db.read(tx, 'transfers', transfer.id)) {
        throw new LedgerError(
          `a transfer of this batch was written by another transaction first (duplicate key ${transfer.id})`,
          LedgerErrorCode.TransfersCreatedConcurrently,
        );
      }
    }
    for (const transfer of changes.transfers) {
      tx.writes.transfers.set(transfer.id, {
        transfer: copyTransfer(transfer),
        createdAt: changes.createdAt,
      });
    }
    for (const change of changes.pending) {
      await this.db.lock(tx, `pending:${change.id}`);
      const before = this.db.read(tx, 'pending', change.id);
      tx.writes.pending.set(change.id, {
        status: change.status,
        expiresAtS: before ? before.expiresAtS : change.expiresAtS,
      });
    }
    for (const account of changes.accounts) {
      if (!this.db.read(tx, 'accounts', account.id)) continue; // UPDATE … WHERE a.id = b.id
      await this.db.lock(tx, `account:${account.id}`);
      tx.writes.accounts.set(account.id, copyAccount(account));
    }
  }

  async insertAccounts(
    manager: EntityManager,
    accounts: readonly AccountInput[],
  ): Promise<Set<string>> {
    if (accounts.length === 0) return new Set();
    const tx = txOf(manager);
    await this.db.statement(tx, 'insert accounts');
    const inserted = new Set<string>();
    for (const input of accounts) {
      await this.db.lock(tx, `account:${input.id}`);
      if (this.db.read(tx, 'accounts', input.id)) continue;
      tx.writes.accounts.set(input.id, {
        id: input.id,
        currency: input.currency,
        code: input.code,
        owner: input.owner,
        flags: {
          debitsMustNotExceedCredits: input.flags?.debitsMustNotExceedCredits ?? false,
          creditsMustNotExceedDebits: input.flags?.creditsMustNotExceedDebits ?? false,
        },
        debitsPending: 0n,
        debitsPosted: 0n,
        creditsPending: 0n,
        creditsPosted: 0n,
      });
      inserted.add(input.id);
    }
    return inserted;
  }
}
