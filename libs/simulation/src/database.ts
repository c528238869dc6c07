import { strict as assert } from 'node:assert';
import type { Account, PendingStatus, Transfer } from '@clearline/ledger-core';
import type { TaskState } from '@clearline/tasks';
import { QueryFailedError } from 'typeorm';
import type { Scheduler } from './scheduler';

/** A database session: a worker's life, or a producer's. A crash ends it. */
export interface Session {
  readonly name: string;
  alive: boolean;
}

/** `task_results` as the simulation keeps it. */
export interface ResultRow {
  id: string;
  task: string;
  state: TaskState;
  result: unknown;
  retries: number;
  errorType: string | null;
  errorMessage: string | null;
}

export interface StoredTransfer {
  transfer: Transfer;
  createdAt: Date;
}

export interface PendingRow {
  status: PendingStatus;
  expiresAtS: number | null;
}

/** The tables the simulation needs: the ledger's and the task layer's inbox and results. */
export interface Tables {
  accounts: Map<string, Account>;
  transfers: Map<string, StoredTransfer>;
  pending: Map<string, PendingRow>;
  inbox: Set<string>;
  results: Map<string, ResultRow>;
}

function emptyTables(): Tables {
  return {
    accounts: new Map(),
    transfers: new Map(),
    pending: new Map(),
    inbox: new Set(),
    results: new Map(),
  };
}

const READY: readonly TaskState[] = ['SUCCESS', 'FAILURE', 'REVOKED'];

/** What the database asks of the simulation: faults, latency, crashes, the trace. */
export interface DatabaseHooks {
  /** Before each statement: `crash` (the session's process dies), an error to throw, or null. */
  beforeStatement(tx: Tx, label: string): 'crash' | Error | null;
  statementLatencyMs(): number;
  crash(session: Session, label: string): void;
  violation(text: string): void;
}

/** An open transaction: its writes stay private until commit; its row locks serialise others. */
export class Tx {
  state: 'open' | 'committed' | 'rolled-back' = 'open';
  readonly writes = emptyTables();
  readonly locks = new Set<string>();
  waitingFor: Tx | null = null;
  /** Tasks in the batch this transaction applies (a batch of several is where a crash is mid-batch). */
  batchSize = 0;

  constructor(
    readonly id: number,
    readonly session: Session,
    /** `batch` (a task's transaction) or `record` (an autocommit result write). */
    readonly kind: 'batch' | 'record' | 'setup',
  ) {}
}

/** PostgreSQL's deadlock error, as node-postgres reports it (transient: 40P01). */
function deadlockDetected(): QueryFailedError {
  const driverError = Object.assign(new Error('deadlock detected'), { code: '40P01' });
  return new QueryFailedError('-- simulated', [], driverError);
}

/**
 * An in-memory database with what PostgreSQL gives the ledger and the task layer:
 * transactions whose writes become visible at commit, all at once, or never (rollback,
 * or the session dies); reads at READ COMMITTED (committed rows plus the transaction's
 * own); row locks held to the end of the transaction, so conflicting transactions
 * serialise, and a waiting cycle fails one of them with 40P01; a unique key inserted by
 * an open transaction makes a second inserter wait for its outcome. Each statement takes
 * simulated time, so transactions of different workers interleave statement by statement.
 */
export class MemoryDatabase {
  readonly committed = emptyTables();
  /** SUCCESS rows committed, by task id (the inbox allows one). */
  readonly successCommits = new Map<string, number>();
  /** Inserts of each transfer id that committed (the primary key allows one). */
  readonly transferInserts = new Map<string, number>();
  private readonly holders = new Map<string, Tx>();
  private readonly lockWaiters = new Map<string, { tx: Tx; wake: () => void }[]>();
  private readonly resultWaiters = new Map<string, (() => void)[]>();
  private readonly openTxs = new Set<Tx>();
  private txSeq = 0;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly hooks: DatabaseHooks,
    /** False injects a bug: the inbox claims every task, seen or not. */
    private readonly inboxDedupes = true,
  ) {}

  get openTransactionCount(): number {
    return this.openTxs.size;
  }

  get heldLockCount(): number {
    return this.holders.size;
  }

  begin(session: Session, kind: Tx['kind']): Tx {
    const tx = new Tx((this.txSeq += 1), session, kind);
    this.openTxs.add(tx);
    return tx;
  }

  /** One statement's round trip: where faults strike and other sessions get their turn. */
  async statement(tx: Tx, label: string): Promise<void> {
    assert(tx.state === 'open', `statement ${label} on a ${tx.state} transaction`);
    const fault = this.hooks.beforeStatement(tx, label);
    if (fault === 'crash') {
      this.hooks.crash(tx.session, label);
      return this.scheduler.abandon();
    }
    const session = tx.session;
    await this.scheduler.sleep(
      this.hooks.statementLatencyMs(),
      () => session.alive && tx.state === 'open',
    );
    if (fault) throw fault;
  }

  /** The row as this transaction sees it: its own write, else the committed one. */
  read<K extends 'accounts' | 'transfers' | 'pending' | 'results'>(
    tx: Tx,
    table: K,
    id: string,
  ): Tables[K] extends Map<string, infer V> ? V | undefined : never {
    const own = tx.writes[table] as Map<string, unknown>;
    const committed = this.committed[table] as Map<string, unknown>;
    return (own.get(id) ?? committed.get(id)) as never;
  }

  /** Locks a row (or a unique key) until the transaction ends; waits for another holder. */
  async lock(tx: Tx, key: string): Promise<void> {
    for (;;) {
      const holder = this.holders.get(key);
      if (holder === undefined || holder === tx) {
        this.holders.set(key, tx);
        tx.locks.add(key);
        return;
      }
      if (this.waitsFor(holder, tx)) throw deadlockDetected();
      tx.waitingFor = holder;
      await this.scheduler.suspend<undefined>((resume) => {
        const list = this.lockWaiters.get(key) ?? [];
        // A transaction rolled back while it waited (its session died) never resumes.
        list.push({ tx, wake: () => tx.state === 'open' && resume(undefined) });
        this.lockWaiters.set(key, list);
      });
      tx.waitingFor = null;
    }
  }

  private waitsFor(from: Tx, target: Tx): boolean {
    for (let tx: Tx | null = from; tx !== null; tx = tx.waitingFor) if (tx === target) return true;
    return false;
  }

  /** `claimInboxMany`: INSERT … ON CONFLICT DO NOTHING RETURNING; the ids it inserted. */
  async claimInbox(tx: Tx, taskIds: readonly string[]): Promise<Set<string>> {
    await this.statement(tx, 'claim inbox');
    const claimed = new Set<string>();
    for (const id of taskIds) {
      if (this.inboxDedupes && this.committed.inbox.has(id)) continue;
      await this.lock(tx, `inbox:${id}`);
      if (this.inboxDedupes && this.committed.inbox.has(id)) continue;
      tx.writes.inbox.add(id);
      claimed.add(id);
    }
    return claimed;
  }

  /** The result store's upsert, in the caller's transaction. */
  async writeResults(tx: Tx, rows: readonly ResultRow[]): Promise<void> {
    await this.statement(tx, 'upsert results');
    for (const row of rows) {
      await this.lock(tx, `result:${row.id}`);
      tx.writes.results.set(row.id, row);
    }
  }

  /** The result store's upsert on its own (autocommit): RETRY and FAILURE records. */
  async recordResult(session: Session, row: ResultRow): Promise<void> {
    const tx = this.begin(session, 'record');
    await this.writeResults(tx, [row]);
    await this.commit(tx);
  }

  async commit(tx: Tx): Promise<void> {
    await this.statement(tx, 'COMMIT');
    const { committed } = this;
    for (const [id, account] of tx.writes.accounts) committed.accounts.set(id, account);
    for (const [id, stored] of tx.writes.transfers) {
      if (committed.transfers.has(id)) this.hooks.violation(`transfer ${id} committed twice`);
      committed.transfers.set(id, stored);
      this.transferInserts.set(id, (this.transferInserts.get(id) ?? 0) + 1);
    }
    for (const [id, row] of tx.writes.pending) committed.pending.set(id, row);
    for (const id of tx.writes.inbox) committed.inbox.add(id);
    for (const [id, row] of tx.writes.results) this.commitResult(id, row);
    tx.state = 'committed';
    this.end(tx);
  }

  private commitResult(id: string, row: ResultRow): void {
    const before = this.committed.results.get(id);
    // A finished state is never overwritten by a late unfinished one (result-store.ts).
    if (before && READY.includes(before.state) && !READY.includes(row.state)) return;
    this.committed.results.set(id, row);
    if (row.state === 'SUCCESS')
      this.successCommits.set(id, (this.successCommits.get(id) ?? 0) + 1);
    if (!READY.includes(row.state)) return;
    for (const wake of this.resultWaiters.get(id) ?? []) this.scheduler.at(0, wake);
    this.resultWaiters.delete(id);
  }

  rollback(tx: Tx): void {
    if (tx.state !== 'open') return;
    tx.state = 'rolled-back';
    this.end(tx);
  }

  /** The session is gone (its process died): PostgreSQL rolls back what it had open. */
  endSession(session: Session): void {
    for (const tx of [...this.openTxs]) if (tx.session === session) this.rollback(tx);
  }

  /** Calls `wake` (from an event) once `id` has a finished result committed. */
  onResult(id: string, wake: () => void): void {
    const list = this.resultWaiters.get(id) ?? [];
    list.push(wake);
    this.resultWaiters.set(id, list);
  }

  private end(tx: Tx): void {
    this.openTxs.delete(tx);
    for (const key of tx.locks) {
      this.holders.delete(key);
      const waiters = this.lockWaiters.get(key) ?? [];
      this.lockWaiters.delete(key);
      for (const waiter of waiters) {
        if (waiter.tx.state === 'open') this.scheduler.at(0, waiter.wake);
      }
    }
    tx.locks.clear();
  }
}
