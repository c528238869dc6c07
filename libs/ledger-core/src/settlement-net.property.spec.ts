/**
 * Property tests of settlement arithmetic: for random merchants' pricings, payments (up to
 * the largest payment, 99,999,999 minor units), refunds and carried debts, in currencies of
 * exponent 0, 2 and 3, fees + net = gross − refunds always, payout and carried debt are
 * never negative and payout − carriedOut = net − carriedIn, the order of items does not
 * matter, and splitting a settlement in two (the debt carried) pays the same: exactly the
 * same payout when the split ends without debt, and in every case the same "paid minus
 * still owed".
 */
import fc from 'fast-check';
import { feeFor, PERCENT_BPS_MAX, type Pricing } from './fees';
import {
  settlementTotals,
  settlementTotalsOfSums,
  type SettlementItem,
  type SettlementSums,
  type SettlementTotals,
} from './settlement-net';

/** Exponents 0 (JPY), 2 (USD) and 3 (KWD). */
const CURRENCIES = ['JPY', 'USD', 'KWD'] as const;
const PAYMENT_AMOUNT_MAX = 99_999_999n;

const pricingArb: fc.Arbitrary<Pricing> = fc.record({
  percentBps: fc.integer({ min: 0, max: PERCENT_BPS_MAX }),
  fixed: fc.oneof(fc.bigInt({ min: 0n, max: 1_000_000n }), fc.constant(30n)),
});

const amountArb = fc.oneof(
  fc.bigInt({ min: 1n, max: 10_000n }),
  fc.bigInt({ min: 1n, max: PAYMENT_AMOUNT_MAX }),
);

/** A raw item before its fee: payments outnumber refunds, but refunds may win. */
const rawItemArb = fc.record({
  kind: fc.constantFrom('payment', 'payment', 'refund'),
  currency: fc.constantFrom(...CURRENCIES),
  amount: amountArb,
});

/** One merchant's items, each payment with its fee under the merchant's pricing. */
const itemsArb: fc.Arbitrary<SettlementItem[]> = fc
  .tuple(pricingArb, fc.array(rawItemArb, { maxLength: 40 }))
  .map(([pricing, raws]) =>
    raws.map(({ kind, currency, amount }): SettlementItem =>
      kind === 'payment'
        ? { kind, currency, amount, fee: feeFor(amount, pricing, currency) }
        : { kind: 'refund', currency, amount },
    ),
  );

const debtArb: fc.Arbitrary<Map<string, bigint>> = fc
  .array(fc.tuple(fc.constantFrom(...CURRENCIES), fc.bigInt({ min: 0n, max: 10n ** 9n })), {
    maxLength: 3,
  })
  .map((entries) => new Map(entries));

function byCurrency(totals: readonly SettlementTotals[]): Map<string, SettlementTotals> {
  return new Map(totals.map((t) => [t.currency, t]));
}

function sum(values: readonly bigint[]): bigint {
  return values.reduce((a, b) => a + b, 0n);
}

describe('settlementTotals (properties)', () => {
  it('adds up every item of each currency: count, gross, refunds, fees', () => {
    fc.assert(
      fc.property(itemsArb, debtArb, (items, debt) => {
        for (const t of settlementTotals(items, debt)) {
          const mine = items.filter((i) => i.currency === t.currency);
          expect(t.count).toBe(mine.length);
          expect(t.gross).toBe(sum(mine.flatMap((i) => (i.kind === 'payment' ? [i.amount] : []))));
          expect(t.refunds).toBe(sum(mine.flatMap((i) => (i.kind === 'refund' ? [i.amount] : []))));
          expect(t.fees).toBe(sum(mine.flatMap((i) => (i.kind === 'payment' ? [i.fee] : []))));
          expect(t.carriedIn).toBe(debt.get(t.currency) ?? 0n);
        }
        const currencies = new Set([...items.map((i) => i.currency)]);
        for (const [c, d] of debt) if (d > 0n) currencies.add(c);
        expect(settlementTotals(items, debt).map((t) => t.currency)).toEqual(
          [...currencies].sort(),
        );
      }),
    );
  });

  it('fees + net = gross − refunds, always; fees never exceed gross', () => {
    fc.assert(
      fc.property(itemsArb, debtArb, (items, debt) => {
        for (const t of settlementTotals(items, debt)) {
          expect(t.fees + t.net).toBe(t.gross - t.refunds);
          expect(t.fees <= t.gross).toBe(true);
        }
      }),
    );
  });

  it('pays out ≥ 0, carries ≥ 0, never both, and payout − carriedOut = net − carriedIn', () => {
    fc.assert(
      fc.property(itemsArb, debtArb, (items, debt) => {
        for (const t of settlementTotals(items, debt)) {
          expect(t.payout >= 0n).toBe(true);
          expect(t.carriedOut >= 0n).toBe(true);
          expect(t.payout === 0n || t.carriedOut === 0n).toBe(true);
          expect(t.payout - t.carriedOut).toBe(t.net - t.carriedIn);
          expect(t.netAfterDebt).toBe(t.net - t.carriedIn);
        }
      }),
    );
  });

  it('does not depend on the order of the items', () => {
    fc.assert(
      fc.property(
        itemsArb.chain((items) =>
          fc.tuple(
            fc.constant(items),
            fc.shuffledSubarray(items, {
              minLength: items.length,
              maxLength: items.length,
            }),
          ),
        ),
        debtArb,
        ([items, shuffled], debt) => {
          expect(settlementTotals(shuffled, debt)).toEqual(settlementTotals(items, debt));
        },
      ),
    );
  });

  it('split in two settlements with the debt carried, pays what one settlement pays', () => {
    fc.assert(
      fc.property(itemsArb, fc.nat(), debtArb, (items, cut, debt) => {
        const k = items.length === 0 ? 0 : cut % (items.length + 1);
        const one = byCurrency(settlementTotals(items, debt));
        const first = byCurrency(settlementTotals(items.slice(0, k), debt));
        const carried = new Map([...first].map(([c, t]) => [c, t.carriedOut]));
        const second = byCurrency(settlementTotals(items.slice(k), carried));
        for (const [currency, whole] of one) {
          const paid = (first.get(currency)?.payout ?? 0n) + (second.get(currency)?.payout ?? 0n);
          const owed = second.get(currency)?.carriedOut ?? 0n;
          // Paid minus still owed is conserved by any split...
          expect(paid - owed).toBe(whole.payout - whole.carriedOut);
          // ...so a split pays exactly the same when it ends without debt, and otherwise
          // pays early at most what it leaves owed (a payout before a later refund).
          expect(owed >= whole.carriedOut).toBe(true);
          if (owed === 0n) expect(paid).toBe(whole.payout);
          expect(paid - whole.payout).toBe(owed - whole.carriedOut);
        }
        // A currency the split settles is one the whole settles too.
        for (const c of [...first.keys(), ...second.keys()]) expect(one.has(c)).toBe(true);
      }),
    );
  });

  it("gives the same totals from each currency's sums as from its items (a run sums in SQL)", () => {
    fc.assert(
      fc.property(itemsArb, debtArb, (items, debt) => {
        const sums = new Map<string, SettlementSums>();
        for (const item of items) {
          const s = sums.get(item.currency) ?? {
            currency: item.currency,
            count: 0,
            gross: 0n,
            refunds: 0n,
            fees: 0n,
          };
          s.count += 1;
          if (item.kind === 'payment') {
            s.gross += item.amount;
            s.fees += item.fee;
          } else s.refunds += item.amount;
          sums.set(item.currency, s);
        }
        expect(settlementTotalsOfSums(sums.values(), debt)).toEqual(settlementTotals(items, debt));
      }),
    );
  });
});
