/**
 * fast-check arbitraries and helpers shared by the ledger's property tests: random
 * transfers as they could arrive over the wire (junk amounts included, through
 * parseAmount), across two currencies, with duplicate ids and redelivered batches.
 */
import fc from 'fast-check';
import { parseAmount } from '../src/amount';
import { checkLedger } from '../src/invariants';
import { Ledger } from '../src/ledger';
import type { AccountInput, TransferInput } from '../src/model';

export const NOW = 1_800_000_000;

/** Accounts of the flagged ledger: USD a0..a3 (a1, a2, a3 with balance flags), JPY a4 and j0. */
export const ACCOUNT_INPUTS: readonly AccountInput[] = [
  { id: 'a0', currency: 'USD', code: 100, owner: 'o0' },
  {
    id: 'a1',
    currency: 'usd',
    code: 101,
    owner: 'o1',
    flags: { debitsMustNotExceedCredits: true },
  },
  {
    id: 'a2',
    currency: 'USD',
    code: 102,
    owner: 'o2',
    flags: { debitsMustNotExceedCredits: true },
  },
  {
    id: 'a3',
    currency: 'USD',
    code: 103,
    owner: 'o3',
    flags: { creditsMustNotExceedDebits: true },
  },
  { id: 'a4', currency: 'JPY', code: 104, owner: 'o4' },
  { id: 'j0', currency: 'jpy', code: 105, owner: 'o5' },
];

/** Ids transfers may name: every account above and one that does not exist. */
export const ACCOUNT_IDS = [...ACCOUNT_INPUTS.map((a) => a.id), 'x9'];

const ACCOUNTS_BY_CURRENCY = { USD: ['a0', 'a1', 'a2', 'a3'], JPY: ['a4', 'j0'] };

export function freshLedger(): Ledger {
  const l = new Ledger();
  const results = l.createAccounts(ACCOUNT_INPUTS);
  if (results.some((r) => r !== 'ok')) throw new Error(`fixture refused: ${results.join()}`);
  l.drainChanges();
  return l;
}

/**
 * A currency field for transfers between accounts of `currency`: mostly absent or right
 * (in either case), sometimes another supported one or an unsupported one.
 */
export function currencyFieldArb(currency: string): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: fc.constantFrom(currency, currency.toLowerCase()) },
    { weight: 1, arbitrary: fc.constantFrom('USD', 'JPY', 'EUR', 'XXX') },
  );
}

/** Mostly unlinked, so that chains stay short and most of them can succeed. */
const LINKED_ARB = fc.constantFrom(false, false, false, true);

/** Raw wire amounts that parseAmount refuses, and a few it accepts. */
const JUNK_AMOUNT_ARB: fc.Arbitrary<unknown> = fc.oneof(
  fc.double(),
  fc.string({ maxLength: 6 }),
  fc.integer({ min: -5, max: 1_000 }).map(String),
  fc.constantFrom('1.5', '1e3', '+5', ' 5', '007', '-0', Number.NaN, Infinity, true, null, {}),
  fc.constantFrom(2 ** 60, '99999999999999999999', -(2 ** 60)),
);

/** The amount fields of a transfer as a wire parser sets them: an amount, or `invalid`. */
export const AMOUNT_FIELDS_ARB: fc.Arbitrary<Pick<TransferInput, 'amount' | 'invalid'>> = fc.oneof(
  { weight: 10, arbitrary: fc.bigInt({ min: 1n, max: 1_000n }).map((amount) => ({ amount })) },
  { weight: 1, arbitrary: fc.bigInt({ min: -5n, max: 0n }).map((amount) => ({ amount })) },
  {
    weight: 1,
    arbitrary: JUNK_AMOUNT_ARB.map((raw) => {
      const parsed = parseAmount(raw);
      return 'amount' in parsed ? { amount: parsed.amount } : { invalid: parsed.invalid };
    }),
  },
);

/** A small pool of ids, so that ids repeat: duplicates, and posts that find their pending. */
const ID_ARB = fc.integer({ min: 0, max: 15 }).map((n) => `t${n}`);

/** Why money moves; now and then 0, which is refused. */
const CODE_ARB = fc.constantFrom(1, 2, 3, 1, 2, 3, 0);

/** Two different accounts of `ids` (in either order). */
function pairArb(ids: readonly string[]): fc.Arbitrary<[string, string]> {
  return fc
    .shuffledSubarray([...ids], { minLength: 2, maxLength: 2 })
    .map(([a, b]) => [a ?? '', b ?? '']);
}

/**
 * Debit, credit and their currency: mostly two different accounts of one currency,
 * sometimes any two ids (the same one, of two currencies, or one that does not exist).
 */
const ACCOUNTS_ARB: fc.Arbitrary<[string, string, string]> = fc.oneof(
  ...Object.entries(ACCOUNTS_BY_CURRENCY).map(([currency, ids]) => ({
    weight: 3 * ids.length,
    arbitrary: pairArb(ids).map(([d, c]): [string, string, string] => [d, c, currency]),
  })),
  {
    weight: 2,
    arbitrary: fc.tuple(
      fc.constantFrom(...ACCOUNT_IDS),
      fc.constantFrom(...ACCOUNT_IDS),
      fc.constantFrom('USD', 'JPY'),
    ),
  },
);

/** A plain or pending transfer, valid or not. */
export const PLAIN_ARB: fc.Arbitrary<TransferInput> = ACCOUNTS_ARB.chain(
  ([debitAccountId, creditAccountId, currency]) =>
    fc.record({
      id: ID_ARB,
      debitAccountId: fc.constant(debitAccountId),
      creditAccountId: fc.constant(creditAccountId),
      amountFields: AMOUNT_FIELDS_ARB,
      currency: currencyFieldArb(currency),
      code: CODE_ARB,
      flags: fc.record({ pending: fc.boolean(), linked: LINKED_ARB }),
      timeoutS: fc.constantFrom(0, 30),
      strayTimeout: fc.constantFrom(false, false, false, false, false, false, false, true),
    }),
).map(({ amountFields, strayTimeout, timeoutS, ...rest }) => ({
  ...rest,
  ...amountFields,
  // A timeout on a plain transfer is refused: keep it rare.
  timeoutS: rest.flags.pending || strayTimeout ? timeoutS : 0,
}));

/** A post or void of some transfer id, with or without an amount or currency. */
export const RESOLVE_ARB: fc.Arbitrary<TransferInput> = fc
  .record({
    id: ID_ARB,
    pendingId: ID_ARB,
    amountFields: fc.option(AMOUNT_FIELDS_ARB, { nil: undefined }),
    currency: fc.option(fc.constantFrom('USD', 'JPY', 'jpy', 'XXX'), { nil: undefined, freq: 3 }),
    code: CODE_ARB,
    flags: fc.oneof(
      fc.record({ postPending: fc.constant(true), linked: LINKED_ARB }),
      fc.record({ voidPending: fc.constant(true), linked: LINKED_ARB }),
    ),
  })
  .map(({ amountFields, ...rest }) => ({ ...rest, ...amountFields }));

export const TRANSFER_ARB: fc.Arbitrary<TransferInput> = fc.oneof(
  { weight: 2, arbitrary: PLAIN_ARB },
  { weight: 1, arbitrary: RESOLVE_ARB },
);

/** A batch, sometimes carrying copies of its own transfers (a client retrying inside one task). */
export const BATCH_ARB: fc.Arbitrary<TransferInput[]> = fc
  .array(TRANSFER_ARB, { minLength: 1, maxLength: 8 })
  .chain((batch) =>
    fc.tuple(fc.constant(batch), fc.subarray(batch, { maxLength: Math.min(2, batch.length) })),
  )
  .map(([batch, copies]) => [...batch, ...copies]);

/** `batches` as a broker could deliver them: in order, with a few delivered again anywhere. */
export function withRedeliveries<T>(batches: readonly T[]): fc.Arbitrary<T[]> {
  return fc
    .array(fc.tuple(fc.nat(), fc.nat()), { maxLength: batches.length === 0 ? 0 : 4 })
    .map((again) => {
      const delivered = [...batches];
      for (const [which, where] of again) {
        const batch = batches[which % batches.length];
        if (batch !== undefined) delivered.splice(where % (delivered.length + 1), 0, batch);
      }
      return delivered;
    });
}

/** Every invariant of a whole ledger; empty when all hold. */
export function violations(l: Ledger): string[] {
  return checkLedger(l.accounts.values(), l.transfers.values(), l.pendingStatus).violations;
}

/** The whole state of a ledger as comparable text: accounts, transfers and statuses by id. */
export function snapshot(l: {
  accounts: ReadonlyMap<string, unknown>;
  transfers: ReadonlyMap<string, unknown>;
  pendingStatus: ReadonlyMap<string, unknown>;
}): string {
  const sorted = (m: ReadonlyMap<string, unknown>): [string, unknown][] =>
    [...m].sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify(
    [sorted(l.accounts), sorted(l.transfers), sorted(l.pendingStatus)],
    (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v),
  );
}
