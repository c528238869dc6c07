/**
 * Property tests of the fee rule: for random pricings, amounts up to AMOUNT_MAX and
 * currencies of exponent 0, 2 and 3, a fee is a whole number of minor units between 0 and
 * the amount, its percentage part is the exact value rounded half up, it grows with the
 * amount, and the currency's exponent never enters it.
 */
import fc from 'fast-check';
import { AMOUNT_MAX } from './currency';
import { feeFor, PERCENT_BPS_MAX, percentFee, type Pricing } from './fees';

/** One currency of each exponent: JPY 0, USD 2, KWD 3. */
const currencyArb = fc.constantFrom('JPY', 'USD', 'KWD', 'BHD', 'EUR', 'KRW');

const pricingArb: fc.Arbitrary<Pricing> = fc.record({
  percentBps: fc.oneof(
    fc.integer({ min: 0, max: PERCENT_BPS_MAX }),
    fc.constantFrom(0, 1, 290, 360, 5_000, 9_999, PERCENT_BPS_MAX),
  ),
  fixed: fc.oneof(fc.bigInt({ min: 0n, max: 1_000_000n }), fc.constantFrom(0n, 30n)),
});

/** Mostly payment-sized amounts, with the whole ledger range and its edges too. */
const amountArb = fc.oneof(
  fc.bigInt({ min: 1n, max: 99_999_999n }),
  fc.bigInt({ min: 1n, max: AMOUNT_MAX }),
  fc.constantFrom(1n, 2n, 50n, 5_000n, AMOUNT_MAX - 1n, AMOUNT_MAX),
);

describe('feeFor (properties)', () => {
  it('is a whole number of minor units, 0 ≤ fee ≤ amount', () => {
    fc.assert(
      fc.property(amountArb, pricingArb, currencyArb, (amount, pricing, currency) => {
        const fee = feeFor(amount, pricing, currency);
        expect(typeof fee).toBe('bigint');
        expect(fee >= 0n).toBe(true);
        expect(fee <= amount).toBe(true);
      }),
    );
  });

  it('is the percentage part plus the fixed fee, capped at the amount', () => {
    fc.assert(
      fc.property(amountArb, pricingArb, currencyArb, (amount, pricing, currency) => {
        const uncapped = percentFee(amount, pricing.percentBps) + pricing.fixed;
        const expected = uncapped < amount ? uncapped : amount;
        expect(feeFor(amount, pricing, currency)).toBe(expected);
      }),
    );
  });

  it('rounds the percentage part half up: within ½ of the exact value, a tie goes up', () => {
    fc.assert(
      fc.property(amountArb, pricingArb, (amount, { percentBps }) => {
        const p = percentFee(amount, percentBps);
        // p = floor(x + ½) for x = amount × bps / 10,000  ⇔  -5,000 ≤ amount × bps − 10,000 p < 5,000
        const remainder = amount * BigInt(percentBps) - 10_000n * p;
        expect(remainder >= -5_000n).toBe(true);
        expect(remainder < 5_000n).toBe(true);
      }),
    );
  });

  it('is monotonic in the amount', () => {
    fc.assert(
      fc.property(amountArb, amountArb, pricingArb, currencyArb, (a, b, pricing, currency) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        expect(feeFor(low, pricing, currency) <= feeFor(high, pricing, currency)).toBe(true);
      }),
    );
  });

  it('does not depend on the currency: the fixed fee is minor units of the payment', () => {
    fc.assert(
      fc.property(amountArb, pricingArb, currencyArb, currencyArb, (amount, pricing, c1, c2) => {
        expect(feeFor(amount, pricing, c1)).toBe(feeFor(amount, pricing, c2));
      }),
    );
  });
});
