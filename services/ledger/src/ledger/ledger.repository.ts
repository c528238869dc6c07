import { preparedStatement } from '@clearline/persistence';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Account, AccountInput, PendingStatus, Transfer } from '@clearline/ledger-core';
import { QueryFailedError, type DataSource, type EntityManager } from 'typeorm';
import { LedgerError, LedgerErrorCode } from './ledger.exception';
import { accountFromRow, transferFromRow, type AccountRow, type TransferRow } from './ledger.rows';

const ACCOUNT_COLUMNS = `id, currency, code, owner, debits_must_not_exceed_credits,
  credits_must_not_exceed_debits, debits_pending, debits_posted, credits_pending, credits_posted`;

const TRANSFER_SELECT = `
  SELECT t.id, t.debit_account_id, t.credit_account_id, t.amount, t.currency, t.code, t.pending,
         t.post_pending, t.void_pending, t.linked, t.pending_id, t.timeout_s, t.created_at,
         p.status AS pending_status
    FROM ledger_transfers t LEFT JOIN ledger_pending_transfers p ON p.id = t.id`;

/** A pending transfer's new state, written in the batch that changed it. */
export interface PendingChange {
  id: string;
  status: PendingStatus;
  /** When a new pending transfer times out; null = never. */
  expiresAtS: number | null;
}

/** Everything one batch writes. */
export interface BatchWrite {
  transfers: readonly Transfer[];
  createdAt: Date;
  pending: readonly PendingChange[];
  /** Touched accounts as they stand after the batch, in id order. */
  accounts: readonly Account[];
}

/**
 * PostgreSQL refused a new transfer because its id is taken (unique_violation on the
 * primary key): the batch inserts only ids it did not find when it read the transfers,
 * so another transaction (a replica's batch with the same transfer) wrote it since.
 * Account locks do not prevent this: the two may name other accounts, and the read
 * comes before the locks.
 */
function isTransferIdTaken(error: unknown): error is QueryFailedError {
  if (!(error instanceof QueryFailedError)) return false;
  const driverError: unknown = error.driverError;
  return (
    typeof driverError === 'object' &&
    driverError !== null &&
    'code' in driverError &&
    driverError.code === '23505' &&
    'constraint' in driverError &&
    driverError.constraint === 'ledger_transfers_pkey'
  );
}

/**
 * All SQL of the ledger. Writes are set-based: one statement per table per batch,
 * whatever the number of transfers; balances are written once per touched account.
 */
@Injectable()
export class LedgerRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Locks the pending rows a batch will resolve, in id order (every transaction locks
   * pending rows first and accounts second, each sorted, so two batches never deadlock).
   */
  async lockPendings(manager: EntityManager, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await manager.query(
      preparedStatement(
        `SELECT id FROM ledger_pending_transfers WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`,
      ),
      [ids],
    );
  }

  /** Locks accounts in id order and returns them with their balances. */
  async lockAccounts(manager: EntityManager, ids: readonly string[]): Promise<Account[]> {
    if (ids.length === 0) return [];
    const rows: AccountRow[] = await manager.query(
      preparedStatement(`SELECT ${ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id = ANY($1::text[])
        ORDER BY id FOR UPDATE`),
      [ids],
    );
    return rows.map(accountFromRow);
  }

  async findTransfers(
    manager: EntityManager | DataSource,
    ids: readonly string[],
  ): Promise<{ transfer: Transfer; status: PendingStatus | null; createdAt: Date }[]> {
    if (ids.length === 0) return [];
    const rows: TransferRow[] = await manager.query(
      preparedStatement(`${TRANSFER_SELECT} WHERE t.id = ANY($1::text[])`),
      [ids],
    );
    return rows.map((row) => ({
      transfer: transferFromRow(row),
      status: row.pending_status,
      createdAt: row.created_at,
    }));
  }

  async findAccounts(ids: readonly string[]): Promise<Account[]> {
    const rows: AccountRow[] = await this.dataSource.query(
      preparedStatement(
        `SELECT ${ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id = ANY($1::text[])`,
      ),
      [ids],
    );
    return rows.map(accountFromRow);
  }

  async findAccountsOfOwner(owner: string): Promise<Account[]> {
    const rows: AccountRow[] = await this.dataSource.query(
      preparedStatement(
        `SELECT ${ACCOUNT_COLUMNS} FROM ledger_accounts WHERE owner = $1 ORDER BY id`,
      ),
      [owner],
    );
    return rows.map(accountFromRow);
  }

  /**
   * Writes what a batch changed in one statement (one round trip): the new transfers,
   * the new and resolved pending states, and each touched account's balances (absolute
   * values: the rows are locked). `createdAt` is the batch's time. A transfer id another
   * transaction wrote first is a lost race (`TransfersCreatedConcurrently`), retried.
   */
  async writeChanges(manager: EntityManager, changes: BatchWrite): Promise<void> {
    try {
      await this.writeChangesStatement(manager, changes);
    } catch (error) {
      if (!isTransferIdTaken(error)) throw error;
      throw new LedgerError(
        `a transfer of this batch was written by another transaction first (${error.message})`,
        LedgerErrorCode.TransfersCreatedConcurrently,
      );
    }
  }

  private async writeChangesStatement(manager: EntityManager, changes: BatchWrite): Promise<void> {
    const { transfers, pending, accounts } = changes;
    const column = <T>(pick: (t: Transfer) => T): T[] => transfers.map(pick);
    await manager.query(
      preparedStatement(`WITH new_transfers AS (
         INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, currency,
           code, pending, post_pending, void_pending, linked, pending_id, timeout_s, created_at)
         SELECT *, $13::timestamptz FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[],
           $5::text[], $6::int[], $7::bool[], $8::bool[], $9::bool[], $10::bool[], $11::text[],
           $12::int[])
       ), pending_states AS (
         INSERT INTO ledger_pending_transfers AS p (id, status, expires_at, resolved_at)
         SELECT id, status, to_timestamp(expires_at_s), CASE WHEN status <> 'pending' THEN now() END
           FROM unnest($14::text[], $15::text[], $16::bigint[]) AS c(id, status, expires_at_s)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, resolved_at = now()
       ), balances AS (
         UPDATE ledger_accounts a
            SET debits_pending = b.debits_pending, debits_posted = b.debits_posted,
                credits_pending = b.credits_pending, credits_posted = b.credits_posted
           FROM unnest($17::text[], $18::bigint[], $19::bigint[], $20::bigint[], $21::bigint[])
             AS b(id, debits_pending, debits_posted, credits_pending, credits_posted)
          WHERE a.id = b.id
       )
       SELECT 1`),
      [
        column((t) => t.id),
        column((t) => t.debitAccountId),
        column((t) => t.creditAccountId),
        column((t) => t.amount.toString()),
        column((t) => t.currency),
        column((t) => t.code),
        column((t) => t.flags.pending),
        column((t) => t.flags.postPending),
        column((t) => t.flags.voidPending),
        column((t) => t.flags.linked),
        column((t) => t.pendingId),
        column((t) => t.timeoutS),
        changes.createdAt,
        pending.map((c) => c.id),
        pending.map((c) => c.status),
        pending.map((c) => c.expiresAtS),
        accounts.map((a) => a.id),
        accounts.map((a) => a.debitsPending.toString()),
        accounts.map((a) => a.debitsPosted.toString()),
        accounts.map((a) => a.creditsPending.toString()),
        accounts.map((a) => a.creditsPosted.toString()),
      ],
    );
  }

  /** Inserts accounts that do not exist yet; returns the ids it inserted. */
  async insertAccounts(
    manager: EntityManager,
    accounts: readonly AccountInput[],
  ): Promise<Set<string>> {
    if (accounts.length === 0) return new Set();
    const rows: { id: string }[] = await manager.query(
      preparedStatement(`INSERT INTO ledger_accounts (id, currency, code, owner, debits_must_not_exceed_credits,
         credits_must_not_exceed_debits)
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::bool[], $6::bool[])
       ON CONFLICT (id) DO NOTHING RETURNING id`),
      [
        accounts.map((a) => a.id),
        accounts.map((a) => a.currency),
        accounts.map((a) => a.code),
        accounts.map((a) => a.owner),
        accounts.map((a) => a.flags?.debitsMustNotExceedCredits ?? false),
        accounts.map((a) => a.flags?.creditsMustNotExceedDebits ?? false),
      ],
    );
    return new Set(rows.map((row) => row.id));
  }

  /** Pending transfers past their timeout, locked for the sweep (other sweepers skip them). */
  async lockExpiredPendings(manager: EntityManager, limit: number): Promise<string[]> {
    const rows: { id: string }[] = await manager.query(
      preparedStatement(`SELECT id FROM ledger_pending_transfers
        WHERE status = 'pending' AND expires_at <= now()
        ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`),
      [limit],
    );
    return rows.map((row) => row.id);
  }
}
