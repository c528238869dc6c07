/**
 * The ledger as the service's rule engine: hydrated with stored rows (which changes no
 * balance), it reports exactly what a batch created and changed, and nothing of what
 * it refused or rolled back.
 */
import { LedgerAssertionError } from './assert';
import { Ledger } from './ledger';
import { noAccountFlags, noFlags, type Account, type Transfer, type TransferInput } from './model';

const NOW = 1_800_000_000;

function account(id: string, balances: Partial<Account> = {}): Account {
  return {
    id,
    currency: 'USD',
    code: 101,
    owner: 'mer_1',
    flags: noAccountFlags(),
    debitsPending: 0n,
    debitsPosted: 0n,
    creditsPending: 0n,
    creditsPosted: 0n,
    ...balances,
  };
}

function ledger(): Ledger {
  const l = new Ledger();
  l.loadAccount(account('customer'));
  l.loadAccount(
    account('merchant', {
      flags: { debitsMustNotExceedCredits: true, creditsMustNotExceedDebits: false },
    }),
  );
  l.loadAccount(account('payouts'));
  return l;
}

const pay = (id: string, amount: bigint, extra: Partial<TransferInput> = {}): TransferInput => ({
  id,
  debitAccountId: 'customer',
  creditAccountId: 'merchant',
  amount,
  currency: 'USD',
  code: 1,
  ...extra,
});

const storedAuth: Transfer = {
  id: 'auth',
  debitAccountId: 'customer',
  creditAccountId: 'merchant',
  amount: 1_000n,
  currency: 'USD',
  code: 1,
  flags: { ...noFlags(), pending: true },
  pendingId: null,
  timeoutS: 60,
  timestampS: NOW - 10,
};

describe('Ledger changes', () => {
  it('reports the transfers a batch created, in order, with pending statuses and touched accounts', () => {
    const l = ledger();
    const outcome = l.createTransfersDetailed(
      [
        pay('t1', 100n),
        pay('bad', 0n),
        pay('auth', 70n, { flags: { pending: true } }),
        { id: 'cap', pendingId: 'auth', amount: 50n, code: 2, flags: { postPending: true } },
        pay('t1', 100n),
        pay('auth2', 30n, { flags: { pending: true } }),
      ],
      NOW,
    );
    expect(outcome.results).toEqual(['ok', 'amount_must_be_positive', 'ok', 'ok', 'exists', 'ok']);
    expect(outcome.transfers.map((t) => t.id)).toEqual(['t1', 'auth', 'cap', 'auth2']);
    expect(outcome.transfers[2]).toMatchObject({ amount: 50n, pendingId: 'auth', timestampS: NOW });
    expect([...outcome.pendingStatus]).toEqual([
      ['auth', 'posted'],
      ['auth2', 'pending'],
    ]);
    expect([...outcome.touchedAccounts].sort()).toEqual(['customer', 'merchant']);
    expect(outcome.accounts).toEqual([]);
    expect(l.accounts.get('merchant')).toMatchObject({ creditsPosted: 150n, creditsPending: 30n });
    expect(l.drainChanges().transfers).toEqual([]);
  });

  it('leaves nothing of a rolled-back linked chain in the changes', () => {
    const l = ledger();
    const outcome = l.createTransfersDetailed(
      [
        pay('c1', 100n, { flags: { linked: true } }),
        pay('c2', 5n, { flags: { pending: true, linked: true } }),
        { id: 'c3', debitAccountId: 'merchant', creditAccountId: 'payouts', amount: 500n, code: 3 },
        pay('open', 1n, { flags: { linked: true } }),
      ],
      NOW,
    );
    expect(outcome.results).toEqual([
      'linked_event_failed',
      'linked_event_failed',
      'exceeds_credits',
      'linked_event_chain_open',
    ]);
    expect(outcome.transfers).toEqual([]);
    expect(outcome.pendingStatus.size).toBe(0);
    expect(outcome.touchedAccounts.size).toBe(0);
    expect(l.transfers.size).toBe(0);
    expect(l.pendingStatus.size).toBe(0);
  });

  it('journals expiries with the accounts they release', () => {
    const l = ledger();
    l.createTransfers([pay('auth', 300n, { flags: { pending: true }, timeoutS: 60 })], NOW);
    l.drainChanges();
    expect(l.expirePendings(NOW + 60)).toEqual(['auth']);
    const changes = l.drainChanges();
    expect([...changes.pendingStatus]).toEqual([['auth', 'expired']]);
    expect([...changes.touchedAccounts].sort()).toEqual(['customer', 'merchant']);
    expect(changes.transfers).toEqual([]);
  });

  it('refuses a detailed batch while changes are left undrained', () => {
    const l = ledger();
    l.createTransfers([pay('t1', 1n)], NOW);
    expect(() => l.createTransfersDetailed([pay('t2', 1n)], NOW)).toThrow(LedgerAssertionError);
    l.drainChanges();
    expect(l.createTransfersDetailed([pay('t2', 1n)], NOW).results).toEqual(['ok']);
  });

  it('posts a loaded pending transfer against loaded balances, which loading left alone', () => {
    const l = new Ledger();
    l.loadAccount(account('customer', { debitsPending: 1_000n, debitsPosted: 20n }));
    l.loadAccount(account('merchant', { creditsPending: 1_000n, creditsPosted: 20n }));
    l.loadTransfer(storedAuth, 'pending');
    expect(l.accounts.get('merchant')).toMatchObject({
      creditsPending: 1_000n,
      creditsPosted: 20n,
    });
    const post = {
      id: 'cap',
      pendingId: 'auth',
      amount: 400n,
      code: 2,
      flags: { postPending: true },
    };
    const outcome = l.createTransfersDetailed([post, { ...post, id: 'cap2' }], NOW);
    expect(outcome.results).toEqual(['ok', 'pending_transfer_already_posted']);
    expect(outcome.transfers.map((t) => t.id)).toEqual(['cap']);
    expect([...outcome.pendingStatus]).toEqual([['auth', 'posted']]);
    expect(l.accounts.get('merchant')).toMatchObject({ creditsPending: 0n, creditsPosted: 420n });
    expect(l.accounts.get('customer')).toMatchObject({ debitsPending: 0n, debitsPosted: 420n });
  });

  it('answers for a loaded transfer as the full ledger would: exists, or resolved already', () => {
    const l = new Ledger();
    l.loadTransfer(storedAuth, 'voided');
    const again = pay('auth', 1_000n, { flags: { pending: true }, timeoutS: 60 });
    const post = { id: 'cap', pendingId: 'auth', code: 2, flags: { postPending: true } };
    expect(l.createTransfers([again, { ...again, amount: 5n }, post], NOW)).toEqual([
      'exists',
      'exists_with_different_amount',
      'pending_transfer_already_voided',
    ]);
    expect(l.drainChanges().transfers).toEqual([]);
  });

  it('refuses to post a loaded pending transfer past its timeout', () => {
    const l = new Ledger();
    l.loadAccount(account('customer', { debitsPending: 1_000n }));
    l.loadAccount(account('merchant', { creditsPending: 1_000n }));
    l.loadTransfer(storedAuth, 'pending');
    const post = { id: 'cap', pendingId: 'auth', code: 2, flags: { postPending: true } };
    expect(l.createTransfers([post], storedAuth.timestampS + 60)).toEqual([
      'pending_transfer_expired',
    ]);
  });

  it('treats a pending transfer loaded without its status, or a status on another, as a bug', () => {
    const l = new Ledger();
    expect(() => {
      l.loadTransfer(storedAuth);
    }).toThrow(LedgerAssertionError);
    const plain = { ...storedAuth, id: 'plain', flags: noFlags(), timeoutS: 0 };
    expect(() => {
      l.loadTransfer(plain, 'pending');
    }).toThrow(LedgerAssertionError);
    l.loadTransfer(plain);
    expect(() => {
      l.loadTransfer(plain);
    }).toThrow(LedgerAssertionError);
  });

  it('treats resolving a loaded pending transfer without its accounts as a bug', () => {
    const l = new Ledger();
    l.loadTransfer(storedAuth, 'pending');
    const post = { id: 'cap', pendingId: 'auth', code: 2, flags: { postPending: true } };
    expect(() => l.createTransfers([post], NOW)).toThrow(/load the accounts/);
  });
});
