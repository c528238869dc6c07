/**
 * Property tests: random sequences of create / pending / post / void / linked
 * operations, with duplicates and invalid ones, keep every invariant; redelivered
 * batches change nothing; plain transfers give the same balances in any order.
 */
import fc from 'fast-check';
import { checkLedger } from './invariants';
import { Ledger } from './ledger';
import type { TransferInput } from './model';

const NOW = 1_800_000_000;
const ACCOUNTS = ['a0', 'a1', 'a2', 'a3', 'a4', 'x9'];

function freshLedger(): Ledger {
  const l = new Ledger();
  ACCOUNTS.slice(0, 5).forEach((id, i) =>
    l.addAccount({
      id,
      currency: i === 4 ? 'JPY' : 'USD',
      code: 100 + i,
      owner: `o${i}`,
      flags: {
        debitsMustNotExceedCredits: i === 1 || i === 2,
        creditsMustNotExceedDebits: i === 3,
      },
    }),
  );
  return l;
}

const transferArb: fc.Arbitrary<TransferInput> = fc.oneof(
  fc.record({
    id: fc.integer({ min: 0, max: 40 }).map((n) => `t${n}`),
    debitAccountId: fc.constantFrom(...ACCOUNTS),
    creditAccountId: fc.constantFrom(...ACCOUNTS),
    amount: fc.bigInt({ min: -5n, max: 1_000n }),
    code: fc.integer({ min: 1, max: 3 }),
    flags: fc.record({ pending: fc.boolean(), linked: fc.boolean() }),
    timeoutS: fc.constantFrom(0, 0, 30),
  }),
  fc.record({
    id: fc.integer({ min: 0, max: 40 }).map((n) => `t${n}`),
    pendingId: fc.integer({ min: 0, max: 40 }).map((n) => `t${n}`),
    amount: fc.option(fc.bigInt({ min: 0n, max: 1_000n }), { nil: undefined }),
    code: fc.integer({ min: 1, max: 3 }),
    flags: fc.oneof(
      fc.record({ postPending: fc.constant(true), linked: fc.boolean() }),
      fc.record({ voidPending: fc.constant(true), linked: fc.boolean() }),
    ),
  }),
);

function check(l: Ledger): string[] {
  return checkLedger(l.accounts.values(), l.transfers.values(), l.pendingStatus).violations;
}

function balances(l: Ledger): string {
  return JSON.stringify([...l.accounts.values()], (_k, v: unknown) =>
    typeof v === 'bigint' ? v.toString() : v,
  );
}

describe('ledger properties', () => {
  it('keeps every invariant after any sequence of batches, including invalid ones and expiries', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(transferArb, { minLength: 1, maxLength: 8 }), { maxLength: 12 }),
        (batches) => {
          const l = freshLedger();
          batches.forEach((batch, i) => {
            const existedBefore = new Set(l.transfers.keys());
            const results = l.createTransfers(batch, NOW + i * 10);
            // Nothing of a failed transfer (or of the chain it failed) is recorded.
            const applied = new Set(batch.filter((_t, k) => results[k] === 'ok').map((t) => t.id));
            batch.forEach((t, k) => {
              const failed = results[k] !== 'ok' && results[k] !== 'exists';
              if (failed && !existedBefore.has(t.id) && !applied.has(t.id)) {
                expect(l.transfers.has(t.id)).toBe(false);
              }
            });
            l.expirePendings(NOW + i * 10);
            expect(check(l)).toEqual([]);
          });
        },
      ),
      { numRuns: 400 },
    );
  });

  it('changes nothing when a batch that was applied is delivered again, later', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(transferArb, { minLength: 1, maxLength: 8 }), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.nat(),
        (batches, pick) => {
          const l = freshLedger();
          const results = batches.map((batch) => l.createTransfers(batch, NOW));
          const before = balances(l);
          const index = pick % batches.length;
          const again = l.createTransfers(batches[index]!, NOW);
          // A transfer that was applied (ok) is now `exists`, whatever its position.
          results[index]!.forEach((result, i) => {
            if (result === 'ok') expect(again[i]).toBe('exists');
          });
          const appliedAgain = again.filter((r) => r === 'ok').length;
          if (appliedAgain === 0) expect(balances(l)).toBe(before);
          expect(check(l)).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives the same balances for plain transfers between unlimited accounts in any delivery order', () => {
    const plain = fc.record({
      id: fc.uuid(),
      debitAccountId: fc.constantFrom('a0', 'a4x'),
      creditAccountId: fc.constantFrom('a0', 'a4x'),
      amount: fc.bigInt({ min: 1n, max: 10_000n }),
      code: fc.constant(1),
    });
    fc.assert(
      fc.property(
        fc
          .array(plain, { maxLength: 30 })
          .chain((ts) =>
            fc.tuple(fc.constant(ts), fc.shuffledSubarray(ts, { minLength: ts.length })),
          ),
        ([ordered, shuffled]) => {
          const build = (): Ledger => {
            const l = new Ledger();
            const none = { debitsMustNotExceedCredits: false, creditsMustNotExceedDebits: false };
            l.addAccount({ id: 'a0', currency: 'USD', code: 1, owner: 'o', flags: none });
            l.addAccount({ id: 'a4x', currency: 'USD', code: 1, owner: 'o', flags: none });
            return l;
          };
          const first = build();
          const second = build();
          ordered.forEach((t) => first.createTransfers([t], NOW));
          shuffled.forEach((t) => second.createTransfers([t], NOW));
          expect(balances(second)).toBe(balances(first));
        },
      ),
      { numRuns: 200 },
    );
  });
});
