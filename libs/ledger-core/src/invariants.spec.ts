import { checkLedger } from './invariants';
import { Ledger } from './ledger';

const NOW = 1_800_000_000;

function ledger(): Ledger {
  const l = new Ledger();
  const accounts = [
    { id: 'a', currency: 'USD' },
    { id: 'b', currency: 'USD', flags: { debitsMustNotExceedCredits: true } },
    { id: 'y', currency: 'JPY' },
  ];
  l.createAccounts(accounts.map((a) => ({ ...a, code: 1, owner: 'o' })));
  const results = l.createTransfers(
    [
      { id: 't1', debitAccountId: 'a', creditAccountId: 'b', amount: 100n, code: 1 },
      {
        id: 't2',
        debitAccountId: 'b',
        creditAccountId: 'a',
        amount: 40n,
        code: 1,
        flags: { pending: true },
      },
    ],
    NOW,
  );
  expect(results).toEqual(['ok', 'ok']);
  return l;
}

function check(l: Ledger): string[] {
  return checkLedger(l.accounts.values(), l.transfers.values(), l.pendingStatus).violations;
}

describe('checkLedger', () => {
  it('holds for a ledger built only by its rules, and totals each currency', () => {
    const l = ledger();
    expect(checkLedger(l.accounts.values(), l.transfers.values(), l.pendingStatus)).toEqual({
      balanced: true,
      currencies: [
        { currency: 'JPY', debits: 0n, credits: 0n },
        { currency: 'USD', debits: 100n, credits: 100n },
      ],
      violations: [],
    });
  });

  it('reports a balance that its transfers do not explain, and the unbalanced currency', () => {
    const l = ledger();
    const a = l.accounts.get('a');
    if (a) a.debitsPosted += 1n;
    expect(check(l)).toEqual([
      'account a: debitsPosted is 101 but its transfers sum to 100',
      'USD: posted debits 101 != credits 100',
    ]);
  });

  it('reports a pending balance that the pending statuses do not explain', () => {
    const l = ledger();
    l.pendingStatus.set('t2', 'voided');
    expect(check(l)).toEqual([
      'account a: creditsPending is 40 but its transfers sum to 0',
      'account b: debitsPending is 40 but its transfers sum to 0',
    ]);
  });

  it('reports a transfer in another currency than its accounts', () => {
    const l = ledger();
    const t1 = l.transfers.get('t1');
    if (t1) l.transfers.set('t1', { ...t1, currency: 'JPY' });
    expect(check(l)).toEqual([
      'transfer t1: JPY but account a is USD',
      'transfer t1: JPY but account b is USD',
    ]);
  });

  it('reports a violated balance flag', () => {
    const l = ledger();
    const b = l.accounts.get('b');
    const t1 = l.transfers.get('t1');
    if (b && t1) {
      b.creditsPosted -= 70n;
      l.accounts.get('a')!.debitsPosted -= 70n;
      l.transfers.set('t1', { ...t1, amount: 30n });
    }
    expect(check(l)).toEqual(['account b: debits exceed credits']);
  });
});
