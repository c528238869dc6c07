/**
 * The ledger as the database-backed service uses it, against the whole in-memory ledger.
 * A store of rows stands in for PostgreSQL. For every batch, the "service" hydrates a
 * fresh Ledger with only the rows that batch can read (its accounts, the transfers its
 * ids and pending ids name, the accounts of those pending transfers), runs the batch,
 * and writes back what the change journal lists; expiry runs the same way. Random
 * batches (two currencies, balance flags, duplicates, redeliveries, junk amounts,
 * linked chains, timeouts) must get the same results as the whole ledger, and leave
 * the store equal to it, with every invariant holding over the store.
 */
import fc from 'fast-check';
import {
  ACCOUNT_INPUTS,
  BATCH_ARB,
  freshLedger,
  NOW,
  snapshot,
  withRedeliveries,
} from '../test/ledger.arbitraries';
import type { LedgerChanges } from './changes';
import { checkLedger } from './invariants';
import { Ledger } from './ledger';
import type { Account, PendingStatus, Transfer, TransferInput } from './model';

/** Rows as the database holds them. */
interface Store {
  accounts: Map<string, Account>;
  transfers: Map<string, Transfer>;
  pendingStatus: Map<string, PendingStatus>;
}

function copyAccount(a: Account): Account {
  return { ...a, flags: { ...a.flags } };
}

/** Writes back what a hydrated ledger changed: inserts, status upserts, balance updates. */
function writeBack(store: Store, l: Ledger, changes: LedgerChanges): void {
  for (const a of changes.accounts) store.accounts.set(a.id, copyAccount(a));
  for (const t of changes.transfers) {
    expect(store.transfers.has(t.id)).toBe(false);
    store.transfers.set(t.id, t);
  }
  for (const [id, status] of changes.pendingStatus) store.pendingStatus.set(id, status);
  for (const id of changes.touchedAccounts) {
    const account = l.accounts.get(id);
    if (account === undefined) throw new Error(`touched account ${id} is not in the ledger`);
    store.accounts.set(id, copyAccount(account));
  }
}

/** Loads a stored transfer and, if it is pending, its status and accounts. */
function loadTransfer(store: Store, l: Ledger, id: string, accountIds: Set<string>): void {
  const stored = store.transfers.get(id);
  if (stored === undefined || l.transfers.has(id)) return;
  l.loadTransfer(stored, store.pendingStatus.get(id));
  if (!stored.flags.pending) return;
  accountIds.add(stored.debitAccountId);
  accountIds.add(stored.creditAccountId);
}

/** A ledger holding just the rows a batch can read, as SELECT ... FOR UPDATE would return. */
function hydrate(store: Store, batch: readonly TransferInput[]): Ledger {
  const l = new Ledger();
  const accountIds = new Set<string>();
  for (const t of batch) {
    if (t.debitAccountId !== undefined) accountIds.add(t.debitAccountId);
    if (t.creditAccountId !== undefined) accountIds.add(t.creditAccountId);
    loadTransfer(store, l, t.id, accountIds);
    if (t.pendingId !== undefined) loadTransfer(store, l, t.pendingId, accountIds);
  }
  for (const id of accountIds) {
    const stored = store.accounts.get(id);
    if (stored !== undefined) l.loadAccount(stored);
  }
  return l;
}

/** The expiry job: loads the pending transfers past their timeout, and their accounts. */
function expire(store: Store, nowS: number): string[] {
  const l = new Ledger();
  const accountIds = new Set<string>();
  for (const [id, status] of store.pendingStatus) {
    const t = store.transfers.get(id);
    if (status !== 'pending' || t === undefined || t.timeoutS === 0) continue;
    if (nowS >= t.timestampS + t.timeoutS) loadTransfer(store, l, id, accountIds);
  }
  for (const id of accountIds) l.loadAccount(store.accounts.get(id) as Account);
  const expired = l.expirePendings(nowS);
  writeBack(store, l, l.drainChanges());
  return expired;
}

function createStore(): Store {
  const store: Store = { accounts: new Map(), transfers: new Map(), pendingStatus: new Map() };
  const l = new Ledger();
  expect(l.createAccounts(ACCOUNT_INPUTS)).toEqual(ACCOUNT_INPUTS.map(() => 'ok'));
  writeBack(store, l, l.drainChanges());
  return store;
}

describe('ledger hydrated per batch, as the service runs it', () => {
  it('gives the same results and rows as the whole ledger, batch after batch', () => {
    fc.assert(
      fc.property(fc.array(BATCH_ARB, { maxLength: 12 }).chain(withRedeliveries), (deliveries) => {
        const whole = freshLedger();
        const store = createStore();
        expect(snapshot(store)).toBe(snapshot(whole));
        deliveries.forEach((batch, i) => {
          const nowS = NOW + i * 10;
          const hydrated = hydrate(store, batch);
          const outcome = hydrated.createTransfersDetailed(batch, nowS);
          writeBack(store, hydrated, outcome);
          expect(outcome.results).toEqual(whole.createTransfers(batch, nowS));
          expect(expire(store, nowS).sort()).toEqual(whole.expirePendings(nowS).sort());
          expect(snapshot(store)).toBe(snapshot(whole));
          const check = checkLedger(
            store.accounts.values(),
            store.transfers.values(),
            store.pendingStatus,
          );
          expect(check.violations).toEqual([]);
        });
      }),
      { numRuns: 300 },
    );
  });
});
