import { LedgerAssertionError } from './assert';
import { Ledger } from './ledger';
import type { Account, AccountInput } from './model';
import { isSuccess } from './results';

const merchant: AccountInput = {
  id: 'acc_1',
  currency: 'usd',
  code: 101,
  owner: 'mer_1',
  flags: { debitsMustNotExceedCredits: true },
};

const stored: Account = {
  id: 'acc_9',
  currency: 'JPY',
  code: 101,
  owner: 'mer_2',
  flags: { debitsMustNotExceedCredits: true, creditsMustNotExceedDebits: false },
  debitsPending: 5n,
  debitsPosted: 10n,
  creditsPending: 0n,
  creditsPosted: 100n,
};

describe('Ledger accounts', () => {
  it('creates an account with zero balances and its currency upper case', () => {
    const l = new Ledger();
    expect(l.createAccounts([merchant])).toEqual(['ok']);
    expect(l.accounts.get('acc_1')).toEqual({
      id: 'acc_1',
      currency: 'USD',
      code: 101,
      owner: 'mer_1',
      flags: { debitsMustNotExceedCredits: true, creditsMustNotExceedDebits: false },
      debitsPending: 0n,
      debitsPosted: 0n,
      creditsPending: 0n,
      creditsPosted: 0n,
    });
  });

  it('is idempotent by id and names the first field that differs', () => {
    const l = new Ledger();
    expect(l.createAccounts([merchant, merchant])).toEqual(['ok', 'exists']);
    expect(
      l.createAccounts([
        { ...merchant, currency: 'USD' },
        { ...merchant, currency: 'EUR' },
        { ...merchant, code: 102 },
        { ...merchant, owner: 'mer_2' },
        { ...merchant, flags: {} },
        { ...merchant, flags: { creditsMustNotExceedDebits: true } },
      ]),
    ).toEqual([
      'exists',
      'exists_with_different_currency',
      'exists_with_different_code',
      'exists_with_different_owner',
      'exists_with_different_flags',
      'exists_with_different_flags',
    ]);
    expect(l.accounts.size).toBe(1);
  });

  it('names what is wrong with a bad account and creates nothing of it', () => {
    const l = new Ledger();
    expect(
      l.createAccounts([
        { ...merchant, id: '' },
        {
          ...merchant,
          id: 'a',
          flags: { debitsMustNotExceedCredits: true, creditsMustNotExceedDebits: true },
        },
        { ...merchant, id: 'b', currency: 'XXX' },
        { ...merchant, id: 'c', currency: 'US' },
        { ...merchant, id: 'd', code: 0 },
      ]),
    ).toEqual([
      'id_must_not_be_empty',
      'flags_are_mutually_exclusive',
      'currency_not_supported',
      'currency_not_supported',
      'code_must_not_be_zero',
    ]);
    expect(l.accounts.size).toBe(0);
    expect(l.drainChanges().accounts).toEqual([]);
  });

  it('journals created accounts, not refused, existing or loaded ones', () => {
    const l = new Ledger();
    l.loadAccount(stored);
    l.addAccount({ ...stored, id: 'fixture', flags: stored.flags });
    l.createAccounts([merchant, merchant, { ...merchant, id: 'bad', code: 0 }]);
    const changes = l.drainChanges();
    expect(changes.accounts.map((a) => a.id)).toEqual(['acc_1']);
    expect([...changes.touchedAccounts]).toEqual(['acc_1']);
    expect(l.drainChanges().accounts).toEqual([]);
  });

  it('loads a stored account with its balances, as a copy', () => {
    const l = new Ledger();
    l.loadAccount(stored);
    expect(l.accounts.get('acc_9')).toEqual(stored);
    expect(l.accounts.get('acc_9')).not.toBe(stored);
    expect(l.createAccounts([{ ...stored, flags: stored.flags }])).toEqual(['exists']);
  });

  it('treats loading an account twice, or a corrupt one, as a programming error', () => {
    const l = new Ledger();
    l.loadAccount(stored);
    expect(() => {
      l.loadAccount(stored);
    }).toThrow(LedgerAssertionError);
    expect(() => {
      l.loadAccount({ ...stored, id: 'neg', debitsPosted: -1n });
    }).toThrow(LedgerAssertionError);
    expect(() => {
      l.loadAccount({ ...stored, id: 'lower', currency: 'jpy' });
    }).toThrow(LedgerAssertionError);
  });

  it('keeps addAccount for fixtures: valid and new, or a programming error', () => {
    const l = new Ledger();
    const fixture = { ...stored, flags: stored.flags };
    l.addAccount(fixture);
    expect(l.accounts.get('acc_9')?.creditsPosted).toBe(0n);
    expect(() => {
      l.addAccount(fixture);
    }).toThrow(/exists/);
    expect(() => {
      l.addAccount({ ...fixture, id: 'zero', code: 0 });
    }).toThrow(/code_must_not_be_zero/);
  });

  it('counts ok and exists as success, everything else as refusal', () => {
    expect(isSuccess('ok')).toBe(true);
    expect(isSuccess('exists')).toBe(true);
    expect(isSuccess('exists_with_different_owner')).toBe(false);
    expect(isSuccess('linked_event_failed')).toBe(false);
  });
});
