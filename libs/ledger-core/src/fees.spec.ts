import { LedgerAssertionError } from './assert';
import { AMOUNT_MAX } from './currency';
import { feeFor, percentFee, refundFee, type Pricing } from './fees';

const STANDARD: Pricing = { percentBps: 290, fixed: 30n };

describe('feeFor', () => {
  it('takes 2.9 % + 30 of USD 10.00 as 59 cents', () => {
    expect(feeFor(1_000n, STANDARD, 'USD')).toBe(59n);
  });

  it('takes 3.6 % of ¥1000 as ¥36 (exponent 0)', () => {
    expect(feeFor(1_000n, { percentBps: 360, fixed: 0n }, 'JPY')).toBe(36n);
  });

  it('reads KWD 1.000 as 1000 fils and adds the fixed fee in fils (exponent 3)', () => {
    expect(feeFor(1_000n, STANDARD, 'KWD')).toBe(59n);
    expect(feeFor(1_000n, { percentBps: 250, fixed: 0n }, 'KWD')).toBe(25n);
    // The fixed fee is minor units of the payment's currency, whatever its exponent.
    expect(feeFor(100_000n, { percentBps: 0, fixed: 30n }, 'JPY')).toBe(30n);
    expect(feeFor(100_000n, { percentBps: 0, fixed: 30n }, 'BHD')).toBe(30n);
  });

  it('rounds the percentage per payment, not on a sum: three USD 0.50 payments at 1 %', () => {
    // 0.5 cent each rounds to 1: 3 cents for the three, where 1 % of the sum would be 2.
    const onePercent: Pricing = { percentBps: 100, fixed: 0n };
    const fees = [50n, 50n, 50n].map((a) => feeFor(a, onePercent, 'USD'));
    expect(fees).toEqual([1n, 1n, 1n]);
    expect(feeFor(150n, onePercent, 'USD')).toBe(2n);
  });

  it('caps the fee at the payment: a USD 0.10 payment at 2.9 % + 30 costs 10, net 0', () => {
    expect(feeFor(10n, STANDARD, 'USD')).toBe(10n);
    expect(feeFor(30n, STANDARD, 'USD')).toBe(30n);
    expect(feeFor(31n, STANDARD, 'USD')).toBe(31n);
    expect(feeFor(1n, { percentBps: 10_000, fixed: 0n }, 'USD')).toBe(1n);
    expect(feeFor(AMOUNT_MAX, { percentBps: 10_000, fixed: 1n }, 'USD')).toBe(AMOUNT_MAX);
  });

  it('charges nothing on free pricing', () => {
    expect(feeFor(123_456n, { percentBps: 0, fixed: 0n }, 'EUR')).toBe(0n);
  });

  it.each([
    ['a zero amount', 0n, STANDARD, 'USD'],
    ['a negative amount', -100n, STANDARD, 'USD'],
    ['an amount above AMOUNT_MAX', AMOUNT_MAX + 1n, STANDARD, 'USD'],
    ['fractional basis points', 1_000n, { percentBps: 2.5, fixed: 0n }, 'USD'],
    ['NaN basis points', 1_000n, { percentBps: Number.NaN, fixed: 0n }, 'USD'],
    ['negative basis points', 1_000n, { percentBps: -1, fixed: 0n }, 'USD'],
    ['more than 100 %', 1_000n, { percentBps: 10_001, fixed: 0n }, 'USD'],
    ['a negative fixed fee', 1_000n, { percentBps: 0, fixed: -1n }, 'USD'],
    ['a fixed fee above AMOUNT_MAX', 1_000n, { percentBps: 0, fixed: AMOUNT_MAX + 1n }, 'USD'],
    ['a lower-case currency', 1_000n, STANDARD, 'usd'],
    ['an unsupported currency', 1_000n, STANDARD, 'XXX'],
  ])('asserts against %s (a programming error, never wire input)', (_n, amount, p, c) => {
    expect(() => feeFor(amount, p, c)).toThrow(LedgerAssertionError);
  });
});

describe('percentFee rounds half up to a whole minor unit', () => {
  it.each([
    // amount, bps, exact value, rounded
    [50n, 100, '0.5', 1n],
    [49n, 100, '0.49', 0n],
    [51n, 100, '0.51', 1n],
    [150n, 100, '1.5', 2n],
    [250n, 100, '2.5', 3n], // banker's rounding would give 2
    [1n, 5_000, '0.5', 1n],
    [3n, 5_000, '1.5', 2n],
    [5_000n, 1, '0.5', 1n],
    [4_999n, 1, '0.4999', 0n],
    [15_000n, 1, '1.5', 2n],
    [25_000n, 1, '2.5', 3n],
    [1_050n, 290, '30.45', 30n],
    [1_500n, 290, '43.5', 44n],
    [1n, 290, '0.029', 0n],
    [1_000n, 0, '0', 0n],
  ])('%p at %p bps is %s, rounded %p', (amount, bps, _exact, rounded) => {
    expect(percentFee(amount, bps)).toBe(rounded);
  });

  it('stays exact at AMOUNT_MAX, where a float would lose the last digits', () => {
    // AMOUNT_MAX = 9223372036854775807; the exact products were worked out by hand.
    expect(percentFee(AMOUNT_MAX, 290)).toBe(267_477_789_068_788_498n); // …498.403
    expect(percentFee(AMOUNT_MAX, 5_000)).toBe(4_611_686_018_427_387_904n); // …903.5 goes up
    expect(percentFee(AMOUNT_MAX, 1)).toBe(922_337_203_685_478n); // …477.5807
    expect(percentFee(AMOUNT_MAX, 9_999)).toBe(9_222_449_699_651_090_329n); // …329.4193
    expect(percentFee(AMOUNT_MAX, 10_000)).toBe(AMOUNT_MAX);
  });
});

describe('refundFee', () => {
  it('is zero: the fee of a refunded payment is kept, and a refund costs nothing more', () => {
    expect(refundFee(1n)).toBe(0n);
    expect(refundFee(1_000n)).toBe(0n);
    expect(refundFee(AMOUNT_MAX)).toBe(0n);
  });

  it('asserts a positive refund amount', () => {
    expect(() => refundFee(0n)).toThrow(LedgerAssertionError);
    expect(() => refundFee(-5n)).toThrow(LedgerAssertionError);
  });
});
