import type { Account, PendingStatus, Transfer } from './model';
import type { TransferResult } from './results';

/**
 * What the ledger changed since its journal was last drained: what a database-backed
 * service writes back after running the rules on a hydrated ledger. Refused transfers
 * and linked chains that rolled back leave nothing here; loading (loadAccount,
 * loadTransfer, addAccount) is not a change.
 */
export interface LedgerChanges {
  /** Accounts created by createAccounts, in order, as they stand now (balances included). */
  accounts: Account[];
  /** Transfers created, in the order they were applied: rows to insert. */
  transfers: Transfer[];
  /**
   * The status, as it stands now, of every pending transfer that was created or resolved
   * (posted, voided) or expired: rows to upsert.
   */
  pendingStatus: Map<string, PendingStatus>;
  /**
   * Ids of the accounts whose balances a change touched (including new accounts); write
   * back their balances as `ledger.accounts` holds them now.
   */
  touchedAccounts: Set<string>;
}

/** The results of a batch of transfers with exactly the changes it made. */
export interface TransferBatchOutcome extends LedgerChanges {
  /** One result per transfer of the batch, in order. */
  results: TransferResult[];
}

/** Records changes as they are committed; `drain` hands them over and starts afresh. */
export class ChangeJournal {
  private accounts: Account[] = [];
  private transfers: Transfer[] = [];
  private pendingStatus = new Map<string, PendingStatus>();
  private touchedAccounts = new Set<string>();

  get isEmpty(): boolean {
    return (
      this.accounts.length === 0 &&
      this.transfers.length === 0 &&
      this.pendingStatus.size === 0 &&
      this.touchedAccounts.size === 0
    );
  }

  accountCreated(account: Account): void {
    this.accounts.push(account);
    this.touchedAccounts.add(account.id);
  }

  transferCreated(transfer: Transfer, touched: Iterable<string>): void {
    this.transfers.push(transfer);
    for (const id of touched) this.touchedAccounts.add(id);
    if (transfer.flags.pending) this.pendingStatus.set(transfer.id, 'pending');
    if (transfer.pendingId === null) return;
    if (transfer.flags.postPending) this.pendingStatus.set(transfer.pendingId, 'posted');
    if (transfer.flags.voidPending) this.pendingStatus.set(transfer.pendingId, 'voided');
  }

  pendingExpired(pending: Transfer): void {
    this.pendingStatus.set(pending.id, 'expired');
    this.touchedAccounts.add(pending.debitAccountId);
    this.touchedAccounts.add(pending.creditAccountId);
  }

  /** The changes so far, with accounts copied as they stand now; the journal is then empty. */
  drain(): LedgerChanges {
    const changes: LedgerChanges = {
      accounts: this.accounts.map((a) => ({ ...a, flags: { ...a.flags } })),
      transfers: this.transfers,
      pendingStatus: this.pendingStatus,
      touchedAccounts: this.touchedAccounts,
    };
    this.accounts = [];
    this.transfers = [];
    this.pendingStatus = new Map();
    this.touchedAccounts = new Set();
    return changes;
  }
}
