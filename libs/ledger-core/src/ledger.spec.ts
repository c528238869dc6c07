import { parseAmount } from './amount';
import { LedgerAssertionError } from './assert';
import { AMOUNT_MAX } from './currency';
import { checkLedger } from './invariants';
import { Ledger } from './ledger';
import type { TransferInput } from './model';

const NOW = 1_800_000_000;
const noLimits = { debitsMustNotExceedCredits: false, creditsMustNotExceedDebits: false };

function ledger(): Ledger {
  const l = new Ledger();
  l.addAccount({ id: 'customer', currency: 'USD', code: 400, owner: 'platform', flags: noLimits });
  l.addAccount({
    id: 'merchant',
    currency: 'USD',
    code: 101,
    owner: 'mer_1',
    flags: { debitsMustNotExceedCredits: true, creditsMustNotExceedDebits: false },
  });
  l.addAccount({ id: 'payouts', currency: 'USD', code: 102, owner: 'mer_1', flags: noLimits });
  l.addAccount({ id: 'yen', currency: 'JPY', code: 101, owner: 'mer_2', flags: noLimits });
  return l;
}

function expectBalanced(l: Ledger): void {
  expect(
    checkLedger(l.accounts.values(), l.transfers.values(), l.pendingStatus).violations,
  ).toEqual([]);
}

const pay = (id: string, amount: bigint, extra: Partial<TransferInput> = {}): TransferInput => ({
  id,
  debitAccountId: 'customer',
  creditAccountId: 'merchant',
  amount,
  code: 1,
  ...extra,
});

describe('Ledger', () => {
  it('posts a transfer on both sides and is idempotent by id', () => {
    const l = ledger();
    expect(l.createTransfers([pay('t1', 500n)], NOW)).toEqual(['ok']);
    expect(l.createTransfers([pay('t1', 500n)], NOW)).toEqual(['exists']);
    expect(l.createTransfers([pay('t1', 501n)], NOW)).toEqual(['exists_with_different_amount']);
    expect(l.createTransfers([pay('t1', 500n, { code: 2 })], NOW)).toEqual([
      'exists_with_different_code',
    ]);
    expect(l.accounts.get('merchant')?.creditsPosted).toBe(500n);
    expect(l.accounts.get('customer')?.debitsPosted).toBe(500n);
    expectBalanced(l);
  });

  it('names what is wrong with bad input and applies nothing', () => {
    const l = ledger();
    expect(
      l.createTransfers(
        [
          pay('a', 0n),
          pay('b', -5n),
          pay('c', AMOUNT_MAX + 1n),
          pay('d', 5n, { creditAccountId: 'nobody' }),
          pay('e', 5n, { creditAccountId: 'yen' }),
          pay('f', 5n, { creditAccountId: 'customer' }),
          pay('g', 5n, { flags: { pending: true, postPending: true } }),
          pay('h', 5n, { code: 0 }),
          { id: '', debitAccountId: 'customer', creditAccountId: 'merchant', amount: 1n, code: 1 },
        ],
        NOW,
      ),
    ).toEqual([
      'amount_must_be_positive',
      'amount_must_be_positive',
      'amount_exceeds_maximum',
      'credit_account_not_found',
      'accounts_must_have_the_same_currency',
      'accounts_must_be_different',
      'flags_are_mutually_exclusive',
      'code_must_not_be_zero',
      'id_must_not_be_empty',
    ]);
    expect(l.transfers.size).toBe(0);
    expectBalanced(l);
  });

  it('refuses to let a flagged account go negative', () => {
    const l = ledger();
    l.createTransfers([pay('in', 100n)], NOW);
    const out = {
      id: 'out',
      debitAccountId: 'merchant',
      creditAccountId: 'payouts',
      amount: 101n,
      code: 3,
    };
    expect(l.createTransfers([out], NOW)).toEqual(['exceeds_credits']);
    expect(l.createTransfers([{ ...out, amount: 100n }], NOW)).toEqual(['ok']);
    expectBalanced(l);
  });

  it('authorizes, partially captures (releasing the rest), and resolves a pending transfer once', () => {
    const l = ledger();
    expect(l.createTransfers([pay('auth', 1_000n, { flags: { pending: true } })], NOW)).toEqual([
      'ok',
    ]);
    expect(l.accounts.get('merchant')).toMatchObject({ creditsPending: 1_000n, creditsPosted: 0n });
    const capture = {
      id: 'cap',
      pendingId: 'auth',
      amount: 600n,
      code: 2,
      flags: { postPending: true },
    };
    expect(l.createTransfers([{ ...capture, amount: 1_001n }], NOW)).toEqual([
      'exceeds_pending_transfer_amount',
    ]);
    expect(l.createTransfers([capture], NOW)).toEqual(['ok']);
    expect(l.accounts.get('merchant')).toMatchObject({ creditsPending: 0n, creditsPosted: 600n });
    expect(l.createTransfers([{ ...capture, id: 'cap2' }], NOW)).toEqual([
      'pending_transfer_already_posted',
    ]);
    expect(
      l.createTransfers(
        [{ id: 'v', pendingId: 'auth', code: 2, flags: { voidPending: true } }],
        NOW,
      ),
    ).toEqual(['pending_transfer_already_posted']);
    expectBalanced(l);
  });

  it('voids a pending transfer, after which it cannot be posted', () => {
    const l = ledger();
    l.createTransfers([pay('auth', 700n, { flags: { pending: true } })], NOW);
    expect(
      l.createTransfers(
        [{ id: 'void', pendingId: 'auth', code: 2, flags: { voidPending: true } }],
        NOW,
      ),
    ).toEqual(['ok']);
    expect(
      l.createTransfers(
        [{ id: 'post', pendingId: 'auth', code: 2, flags: { postPending: true } }],
        NOW,
      ),
    ).toEqual(['pending_transfer_already_voided']);
    expect(l.accounts.get('merchant')).toMatchObject({ creditsPending: 0n, creditsPosted: 0n });
    expectBalanced(l);
  });

  it('lets a pending transfer expire: no post after its timeout, and the reservation is released', () => {
    const l = ledger();
    l.createTransfers([pay('auth', 300n, { flags: { pending: true }, timeoutS: 60 })], NOW);
    const post = { id: 'post', pendingId: 'auth', code: 2, flags: { postPending: true } };
    expect(l.createTransfers([post], NOW + 60)).toEqual(['pending_transfer_expired']);
    expect(l.expirePendings(NOW + 60)).toEqual(['auth']);
    expect(l.accounts.get('merchant')?.creditsPending).toBe(0n);
    expect(l.createTransfers([post], NOW + 61)).toEqual(['pending_transfer_expired']);
    expectBalanced(l);
  });

  it('applies a linked chain whole or not at all', () => {
    const l = ledger();
    const linked = { linked: true };
    expect(
      l.createTransfers(
        [
          pay('c1', 100n, { flags: linked }),
          {
            id: 'c2',
            debitAccountId: 'merchant',
            creditAccountId: 'payouts',
            amount: 500n,
            code: 3,
          },
          pay('solo', 7n),
        ],
        NOW,
      ),
    ).toEqual(['linked_event_failed', 'exceeds_credits', 'ok']);
    expect(l.transfers.has('c1')).toBe(false);
    expect(l.createTransfers([pay('open', 1n, { flags: linked })], NOW)).toEqual([
      'linked_event_chain_open',
    ]);
    expect(
      l.createTransfers(
        [
          pay('d1', 100n, { flags: linked }),
          {
            id: 'd2',
            debitAccountId: 'merchant',
            creditAccountId: 'payouts',
            amount: 100n,
            code: 3,
          },
        ],
        NOW,
      ),
    ).toEqual(['ok', 'ok']);
    expectBalanced(l);
  });

  it('checks a transfer currency against the accounts, case-insensitively', () => {
    const l = ledger();
    expect(
      l.createTransfers(
        [
          pay('usd', 5n, { currency: 'USD' }),
          pay('lower', 5n, { currency: 'usd' }),
          pay('none', 5n),
          pay('eur', 5n, { currency: 'EUR' }),
          pay('jpy', 5n, { currency: 'JPY' }),
          pay('xxx', 5n, { currency: 'XXX' }),
          pay('empty', 5n, { currency: '' }),
          pay('yen', 5n, { creditAccountId: 'yen', currency: 'USD' }),
        ],
        NOW,
      ),
    ).toEqual([
      'ok',
      'ok',
      'ok',
      'transfer_must_have_the_same_currency_as_accounts',
      'transfer_must_have_the_same_currency_as_accounts',
      'currency_not_supported',
      'currency_not_supported',
      'accounts_must_have_the_same_currency',
    ]);
    expect(l.transfers.get('lower')?.currency).toBe('USD');
    expect(l.accounts.get('merchant')?.creditsPosted).toBe(15n);
    expectBalanced(l);
  });

  it('names a different currency when a transfer id is used again', () => {
    const l = ledger();
    l.createTransfers([pay('t1', 5n, { currency: 'USD' })], NOW);
    expect(
      l.createTransfers(
        [
          pay('t1', 5n),
          pay('t1', 5n, { currency: 'usd' }),
          pay('t1', 5n, { currency: 'JPY' }),
          pay('t1', 5n, { currency: 'XXX' }),
        ],
        NOW,
      ),
    ).toEqual([
      'exists',
      'exists',
      'exists_with_different_currency',
      'exists_with_different_currency',
    ]);
  });

  it("holds a post or void to the pending transfer's currency when it names one", () => {
    const l = ledger();
    l.createTransfers([pay('auth', 50n, { flags: { pending: true }, currency: 'USD' })], NOW);
    const post = { id: 'post', pendingId: 'auth', code: 2, flags: { postPending: true } };
    expect(
      l.createTransfers(
        [
          { ...post, currency: 'JPY' },
          { ...post, currency: 'XXX' },
          { ...post, id: 'void', flags: { voidPending: true }, currency: 'EUR' },
          { ...post, currency: 'usd' },
        ],
        NOW,
      ),
    ).toEqual([
      'pending_transfer_has_different_currency',
      'currency_not_supported',
      'pending_transfer_has_different_currency',
      'ok',
    ]);
    expect(l.transfers.get('post')?.currency).toBe('USD');
    expectBalanced(l);
  });

  it('fails a transfer its parser marked invalid, and the whole chain with it', () => {
    const l = ledger();
    const wire = (id: string, raw: unknown, extra: Partial<TransferInput> = {}): TransferInput => {
      const parsed = parseAmount(raw);
      return pay(id, 'amount' in parsed ? parsed.amount : 0n, {
        ...('invalid' in parsed ? { invalid: parsed.invalid } : {}),
        ...extra,
      });
    };
    expect(
      l.createTransfers(
        [
          wire('frac', 1.5),
          wire('str', '1e3'),
          wire('big', 2 ** 60),
          wire('neg', '-3'),
          wire('huge', '9'.repeat(30)),
          wire('good', '100'),
          wire('c1', '5', { flags: { linked: true } }),
          wire('c2', 'abc', { flags: { linked: true } }),
          wire('c3', '5'),
          wire('', 'abc'),
        ],
        NOW,
      ),
    ).toEqual([
      'amount_must_be_integer',
      'amount_must_be_integer',
      'amount_is_imprecise',
      'amount_must_be_positive',
      'amount_exceeds_maximum',
      'ok',
      'linked_event_failed',
      'amount_must_be_integer',
      'linked_event_failed',
      'id_must_not_be_empty',
    ]);
    expect([...l.transfers.keys()]).toEqual(['good']);
    // A parse failure wins over everything but the id, even a transfer of that id.
    expect(l.createTransfers([wire('good', 'x')], NOW)).toEqual(['amount_must_be_integer']);
    expect(() => l.createTransfers([pay('bug', 1n, { invalid: 'ok' })], NOW)).toThrow(
      LedgerAssertionError,
    );
    expectBalanced(l);
  });
});
