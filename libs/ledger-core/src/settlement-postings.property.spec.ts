import fc from 'fast-check';
import { AMOUNT_MAX } from './currency';
import { feeFor } from './fees';
import { settlementTotals } from './settlement-net';
import { settlementPostings } from './settlement-postings';

/**
 * The postings of a settlement conserve money: what the items left on pending is split
 * between fees and available, and the fees owed are either collected or carried; with
 * fees computed per payment in currencies of exponent 0, 2 and 3.
 */
describe('settlementPostings', () => {
  const amount = fc.bigInt({ min: 1n, max: AMOUNT_MAX / 1_000_000n });
  const pricing = fc.record({
    percentBps: fc.integer({ min: 0, max: 10_000 }),
    fixed: fc.bigInt({ min: 0n, max: 10_000n }),
  });
  const currency = fc.constantFrom('JPY', 'USD', 'KWD');

  it('splits what pending holds into fees and available, and carries only unpaid fees', () => {
    fc.assert(
      fc.property(
        currency,
        pricing,
        fc.array(amount, { maxLength: 30 }),
        fc.array(fc.nat({ max: 1_000 }), { maxLength: 30 }),
        fc.bigInt({ min: 0n, max: 1_000_000n }),
        (code, price, payments, refundShares, feesOwedIn) => {
          const gross = payments.reduce((sum, value) => sum + value, 0n);
          // Refunds held on pending never exceed the captures they draw on.
          let room = gross;
          const refunds = refundShares.map((share) => {
            const refund = (room * BigInt(share)) / 2_000n;
            room -= refund;
            return refund;
          });
          const items = [
            ...payments.map((value) => ({
              kind: 'payment' as const,
              currency: code,
              amount: value,
              fee: feeFor(value, price, code),
            })),
            ...refunds
              .filter((value) => value > 0n)
              .map((value) => ({ kind: 'refund' as const, currency: code, amount: value })),
          ];
          const [totals] = settlementTotals(items);
          if (totals === undefined) return;
          const postings = settlementPostings({
            gross: totals.gross,
            refundsFromPending: totals.refunds,
            fees: totals.fees,
            feesOwedIn,
          });
          expect(totals.fees + totals.net).toBe(totals.gross - totals.refunds);
          expect(postings.feesCollected + postings.toAvailable).toBe(totals.gross - totals.refunds);
          expect(postings.feesCollected + postings.feesOwedOut).toBe(totals.fees + feesOwedIn);
          expect(postings.feesCollected).toBeGreaterThanOrEqual(0n);
          expect(postings.toAvailable).toBeGreaterThanOrEqual(0n);
          expect(postings.feesOwedOut).toBeGreaterThanOrEqual(0n);
          // A debt is only ever carried when nothing is left for the merchant.
          if (postings.feesOwedOut > 0n) expect(postings.toAvailable).toBe(0n);
        },
      ),
    );
  });

  it('collects a carried debt before anything reaches available', () => {
    expect(
      settlementPostings({ gross: 1_000n, refundsFromPending: 0n, fees: 59n, feesOwedIn: 41n }),
    ).toEqual({ feesCollected: 100n, toAvailable: 900n, feesOwedOut: 0n });
    expect(
      settlementPostings({ gross: 1_000n, refundsFromPending: 1_000n, fees: 59n, feesOwedIn: 0n }),
    ).toEqual({ feesCollected: 0n, toAvailable: 0n, feesOwedOut: 59n });
  });
});
