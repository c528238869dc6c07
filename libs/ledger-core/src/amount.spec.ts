import fc from 'fast-check';
import { formatAmount, parseAmount } from './amount';
import { AMOUNT_MAX } from './currency';

describe('parseAmount', () => {
  it('reads safe-integer numbers, canonical digit strings and bigints exactly', () => {
    expect(parseAmount(1)).toEqual({ amount: 1n });
    expect(parseAmount(Number.MAX_SAFE_INTEGER)).toEqual({ amount: 9_007_199_254_740_991n });
    expect(parseAmount('1')).toEqual({ amount: 1n });
    expect(parseAmount('9007199254740993')).toEqual({ amount: 9_007_199_254_740_993n });
    expect(parseAmount(AMOUNT_MAX.toString())).toEqual({ amount: AMOUNT_MAX });
    expect(parseAmount(42n)).toEqual({ amount: 42n });
  });

  it.each([
    ['a fraction', 1.5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['a decimal string', '1.5'],
    ['a trailing-zero decimal string', '10.00'],
    ['an exponent', '1e3'],
    ['a plus sign', '+5'],
    ['a leading space', ' 5'],
    ['a trailing newline', '5\n'],
    ['leading zeros', '007'],
    ['an empty string', ''],
    ['a bare minus', '-'],
    ['a hex string', '0x10'],
    ['words', 'ten'],
    ['true', true],
    ['null', null],
    ['undefined', undefined],
    ['an object', { amount: 5 }],
    ['an array', [5]],
  ])('refuses %s as amount_must_be_integer', (_name, raw) => {
    expect(parseAmount(raw)).toEqual({ invalid: 'amount_must_be_integer' });
  });

  it.each([
    ['zero', 0],
    ['negative zero', -0],
    ['a negative number', -5],
    ['an unsafe negative number', -1e20],
    ['"0"', '0'],
    ['"-0"', '-0'],
    ['a negative string', '-12'],
    ['a long negative string', `-${'9'.repeat(40)}`],
    ['a zero bigint', 0n],
    ['a negative bigint', -1n],
  ])('refuses %s as amount_must_be_positive', (_name, raw) => {
    expect(parseAmount(raw)).toEqual({ invalid: 'amount_must_be_positive' });
  });

  it('refuses a JSON number beyond the safe integers: its digits may already be lost', () => {
    expect(parseAmount(Number.MAX_SAFE_INTEGER + 1)).toEqual({ invalid: 'amount_is_imprecise' });
    expect(parseAmount(1e20)).toEqual({ invalid: 'amount_is_imprecise' });
    // JSON.parse turns ...993 into ...992 silently: the same amount as a string is exact.
    expect(parseAmount(JSON.parse('9007199254740993'))).toEqual({
      invalid: 'amount_is_imprecise',
    });
  });

  it('refuses amounts above AMOUNT_MAX, however many digits they have', () => {
    expect(parseAmount((AMOUNT_MAX + 1n).toString())).toEqual({
      invalid: 'amount_exceeds_maximum',
    });
    expect(parseAmount('9'.repeat(19))).toEqual({ invalid: 'amount_exceeds_maximum' });
    expect(parseAmount('1'.repeat(100_000))).toEqual({ invalid: 'amount_exceeds_maximum' });
    expect(parseAmount(AMOUNT_MAX + 1n)).toEqual({ invalid: 'amount_exceeds_maximum' });
  });

  it('round-trips every valid amount through formatAmount', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: AMOUNT_MAX }), (amount) => {
        expect(parseAmount(formatAmount(amount))).toEqual({ amount });
      }),
    );
  });

  it('returns a valid amount or a named refusal for anything at all', () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true }), (raw) => {
        const parsed = parseAmount(raw);
        if ('amount' in parsed) {
          expect(parsed.amount > 0n && parsed.amount <= AMOUNT_MAX).toBe(true);
        } else {
          expect(parsed.invalid).toMatch(/^amount_/);
        }
      }),
    );
  });
});
