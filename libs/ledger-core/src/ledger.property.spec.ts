/**
 * Property tests: random sequences of create / pending / post / void / linked
 * operations, across two currencies, with duplicates, redeliveries and invalid wire
 * input, keep every invariant and report exactly what they changed; redelivered
 * batches change nothing; and independent batches give the same ledger in any
 * delivery order, however often each is delivered.
 */
import fc from 'fast-check';
import {
  BATCH_ARB,
  AMOUNT_FIELDS_ARB,
  currencyFieldArb,
  freshLedger,
  NOW,
  snapshot,
  TRANSFER_ARB,
  violations,
  withRedeliveries,
} from '../test/ledger.arbitraries';
import { Ledger } from './ledger';
import type { TransferInput } from './model';
import { isSuccess, type TransferResult } from './results';

/** What a batch's outcome says must hold of the ledger after it. */
function expectOutcomeMatches(
  l: Ledger,
  batch: readonly TransferInput[],
  outcome: ReturnType<Ledger['createTransfersDetailed']>,
  existedBefore: ReadonlySet<string>,
): void {
  const { results } = outcome;
  expect(results).toHaveLength(batch.length);
  // Created: exactly the transfers answered `ok`, in batch order, as the ledger holds them.
  const okIds = batch.filter((_t, k) => results[k] === 'ok').map((t) => t.id);
  expect(outcome.transfers.map((t) => t.id)).toEqual(okIds);
  for (const t of outcome.transfers) {
    expect(l.transfers.get(t.id)).toBe(t);
    expect(outcome.touchedAccounts.has(t.debitAccountId)).toBe(true);
    expect(outcome.touchedAccounts.has(t.creditAccountId)).toBe(true);
  }
  for (const [id, status] of outcome.pendingStatus) expect(l.pendingStatus.get(id)).toBe(status);
  // Nothing of a refused transfer (or of the chain it failed) is recorded.
  batch.forEach((t, k) => {
    const refused = !isSuccess(results[k] as TransferResult);
    if (refused && !existedBefore.has(t.id) && !okIds.includes(t.id)) {
      expect(l.transfers.has(t.id)).toBe(false);
    }
  });
}

// Independent batches for the delivery-order property.
/** Two different accounts of `ids`, with their currency. */
const distinct = (ids: string[], currency: string) =>
  fc
    .shuffledSubarray(ids, { minLength: 2, maxLength: 2 })
    .map(([d, c]) => [d ?? '', c ?? '', currency] as const);
const anyAccount = fc.constantFrom('u0', 'u1', 'u2', 'j0', 'j1', 'nobody');
const accountsArb = fc.oneof(
  { weight: 3, arbitrary: distinct(['u0', 'u1', 'u2'], 'USD') },
  { weight: 2, arbitrary: distinct(['j0', 'j1'], 'JPY') },
  { weight: 1, arbitrary: fc.tuple(anyAccount, anyAccount, fc.constant('USD')) },
);
const transferKind = accountsArb.chain(([debitAccountId, creditAccountId, currency]) =>
  fc.record({
    kind: fc.constantFrom('plain', 'pending', 'pending', 'post', 'void'),
    debitAccountId: fc.constant(debitAccountId),
    creditAccountId: fc.constant(creditAccountId),
    amountFields: AMOUNT_FIELDS_ARB,
    omitAmount: fc.boolean(),
    currency: currencyFieldArb(currency),
    // Mostly an earlier transfer of the batch, sometimes itself or one that never exists.
    target: fc.oneof(
      { weight: 8, arbitrary: fc.nat().map((n) => ({ earlier: n })) },
      { weight: 1, arbitrary: fc.constant('self' as const) },
      { weight: 1, arbitrary: fc.constant('none' as const) },
    ),
    linked: fc.constantFrom(false, false, false, true),
  }),
);
type Kind = typeof transferKind extends fc.Arbitrary<infer K> ? K : never;
/** Transfer `k` of batch `b`: ids are unique, and posts and voids look back only. */
const toInput = (b: number, k: number, t: Kind): TransferInput => {
  const id = `b${b}.t${k}`;
  const flags = { linked: t.linked };
  const amount = t.omitAmount && (t.kind === 'post' || t.kind === 'void') ? {} : t.amountFields;
  if (t.kind === 'plain' || t.kind === 'pending') {
    const { debitAccountId, creditAccountId, currency } = t;
    const pending = t.kind === 'pending';
    return {
      id,
      debitAccountId,
      creditAccountId,
      currency,
      code: 1,
      flags: { ...flags, pending },
      ...amount,
    };
  }
  const earlier = typeof t.target === 'object' && k > 0 ? `t${t.target.earlier % k}` : 'none';
  const target = typeof t.target === 'object' ? earlier : t.target;
  const pendingId = target === 'self' ? id : `b${b}.${target}`;
  const resolve = t.kind === 'post' ? { postPending: true } : { voidPending: true };
  return {
    id,
    pendingId,
    currency: t.currency,
    code: 2,
    flags: { ...flags, ...resolve },
    ...amount,
  };
};
/** Independent batches (see the property below). */
const batchesArb = fc
  .array(fc.array(transferKind, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 8 })
  .map((batches) => batches.map((kinds, b) => kinds.map((t, k) => toInput(b, k, t))));
/** Three USD and two JPY accounts, none with a balance flag. */
const unlimitedLedger = (): Ledger => {
  const l = new Ledger();
  l.createAccounts(
    ['u0', 'u1', 'u2', 'j0', 'j1'].map((id) => ({
      id,
      currency: id.startsWith('u') ? 'USD' : 'JPY',
      code: 1,
      owner: 'o',
    })),
  );
  return l;
};

describe('ledger properties', () => {
  it('keeps every invariant and reports exactly its changes, whatever arrives', () => {
    fc.assert(
      fc.property(fc.array(BATCH_ARB, { maxLength: 12 }).chain(withRedeliveries), (deliveries) => {
        const l = freshLedger();
        deliveries.forEach((batch, i) => {
          const existedBefore = new Set(l.transfers.keys());
          const outcome = l.createTransfersDetailed(batch, NOW + i * 10);
          expectOutcomeMatches(l, batch, outcome, existedBefore);
          expect(violations(l)).toEqual([]);
          const expired = l.expirePendings(NOW + i * 10);
          const changes = l.drainChanges();
          expect([...changes.pendingStatus.keys()].sort()).toEqual([...expired].sort());
          expect(violations(l)).toEqual([]);
        });
      }),
      { numRuns: 400 },
    );
  });

  it('changes nothing when a batch that was applied is delivered again, later', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(TRANSFER_ARB, { minLength: 1, maxLength: 8 }), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.nat(),
        (batches, pick) => {
          const l = freshLedger();
          const results = batches.map((batch) => l.createTransfers(batch, NOW));
          const before = snapshot(l);
          const index = pick % batches.length;
          const again = l.createTransfers(batches[index]!, NOW);
          // A transfer that was applied (ok) is now `exists`, whatever its position.
          results[index]!.forEach((result, i) => {
            if (result === 'ok') expect(again[i]).toBe('exists');
          });
          if (!again.includes('ok')) expect(snapshot(l)).toBe(before);
          expect(violations(l)).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });

  /*
   * Delivery order. A broker may deliver task batches in any order and more than once,
   * and the ledger must end the same. That is only true of batches whose outcome does
   * not depend on what other batches did, so the batches here are built to be
   * independent, the way the payment path sends them:
   * - ids are unique per batch and position, so no two batches (or transfers) share an id;
   * - a post or void names a pending transfer earlier in its own batch (or one that does
   *   not exist), never one of another batch: a capture delivered before its
   *   authorisation is refused (pending_transfer_not_found), and the sender retries;
   * - accounts have no balance flags and amounts are small, so no transfer is refused
   *   for the balances another batch left (exceeds_credits, overflows_balance);
   * - every delivery happens at the same time, so no pending transfer expires between.
   * Within those rules anything goes: both currencies and mismatches, junk amounts,
   * unknown accounts, linked chains, double posts, voids after posts. Then a batch's
   * first delivery answers the same in every order, and a redelivery creates nothing
   * (what failed the first time fails again, because no id it needs is created after
   * it), so the final ledger is the same.
   */
  it('ends the same for independent batches in any delivery order, with redeliveries', () => {
    fc.assert(
      fc.property(
        batchesArb.chain((batches) =>
          fc.tuple(
            fc.constant(batches),
            fc
              .array(fc.integer({ min: 1, max: 3 }), {
                minLength: batches.length,
                maxLength: batches.length,
              })
              .map((counts) => batches.flatMap((_b, i) => Array<number>(counts[i] ?? 1).fill(i)))
              .chain((order) => fc.shuffledSubarray(order, { minLength: order.length })),
          ),
        ),
        ([batches, order]) => {
          const inOrder = unlimitedLedger();
          const expected = batches.map((batch) => inOrder.createTransfers(batch, NOW));
          const shuffled = unlimitedLedger();
          const delivered = new Set<number>();
          for (const b of order) {
            const results = shuffled.createTransfers(batches[b]!, NOW);
            if (delivered.has(b)) {
              expect(results).not.toContain('ok');
              expected[b]!.forEach((r, k) => {
                if (r === 'ok') expect(results[k]).toBe('exists');
              });
            } else {
              expect(results).toEqual(expected[b]);
            }
            delivered.add(b);
            expect(violations(shuffled)).toEqual([]);
          }
          expect(snapshot(shuffled)).toBe(snapshot(inOrder));
        },
      ),
      { numRuns: 300 },
    );
  });
});
