import { LedgerAssertionError } from './assert';
import { AMOUNT_MAX } from './currency';
import { feeFor, type Pricing } from './fees';
import { settlementTotals, type SettlementItem, type SettlementTotals } from './settlement-net';

const STANDARD: Pricing = { percentBps: 290, fixed: 30n };

function payment(currency: string, amount: bigint, pricing = STANDARD): SettlementItem {
  return { kind: 'payment', currency, amount, fee: feeFor(amount, pricing, currency) };
}

function refund(currency: string, amount: bigint): SettlementItem {
  return { kind: 'refund', currency, amount };
}

describe('settlementTotals', () => {
  it('sums a USD settlement: two payments and a refund, net paid out', () => {
    // 10.00 (fee 59) + 20.00 (fee 2.9 % of 2000 = 58, + 30 = 88), refund 5.00.
    const totals = settlementTotals([
      payment('USD', 1_000n),
      payment('USD', 2_000n),
      refund('USD', 500n),
    ]);
    expect(totals).toEqual<SettlementTotals[]>([
      {
        currency: 'USD',
        count: 3,
        gross: 3_000n,
        refunds: 500n,
        fees: 147n,
        net: 2_353n,
        carriedIn: 0n,
        netAfterDebt: 2_353n,
        payout: 2_353n,
        carriedOut: 0n,
      },
    ]);
  });

  it('keeps the fee of a refunded payment: a full refund leaves the merchant owing it', () => {
    const [usd] = settlementTotals([payment('USD', 1_000n), refund('USD', 1_000n)]);
    expect(usd).toMatchObject({ gross: 1_000n, refunds: 1_000n, fees: 59n, net: -59n });
    expect(usd).toMatchObject({ payout: 0n, carriedOut: 59n });
  });

  it('settles each currency apart, sorted by code, with its own exponent', () => {
    const totals = settlementTotals([
      payment('USD', 1_000n),
      payment('JPY', 1_000n, { percentBps: 360, fixed: 0n }),
      payment('KWD', 1_000n),
      refund('JPY', 100n),
    ]);
    expect(totals.map((t) => [t.currency, t.count, t.fees, t.net, t.payout])).toEqual([
      ['JPY', 2, 36n, 864n, 864n],
      ['KWD', 1, 59n, 941n, 941n],
      ['USD', 1, 59n, 941n, 941n],
    ]);
  });

  it('carries a negative net forward as debt, pays nothing, and takes it from the next net', () => {
    const first = settlementTotals([payment('USD', 1_000n), refund('USD', 3_000n)]);
    expect(first).toMatchObject([{ net: -2_059n, payout: 0n, carriedOut: 2_059n }]);

    const debt = new Map([['USD', first[0]?.carriedOut ?? 0n]]);
    const second = settlementTotals([payment('USD', 10_000n)], debt);
    // 100.00 at 2.9 % + 30 = 320 fee: net 9,680, less the 2,059 owed.
    expect(second).toMatchObject([
      { net: 9_680n, carriedIn: 2_059n, netAfterDebt: 7_621n, payout: 7_621n, carriedOut: 0n },
    ]);
  });

  it('keeps carrying a debt the next net does not cover', () => {
    const totals = settlementTotals([payment('EUR', 1_000n)], new Map([['EUR', 5_000n]]));
    expect(totals).toMatchObject([
      { net: 941n, carriedIn: 5_000n, netAfterDebt: -4_059n, payout: 0n, carriedOut: 4_059n },
    ]);
  });

  it('keeps a debt in a currency with no items this time, and never pays it from another', () => {
    const totals = settlementTotals([payment('USD', 1_000n)], new Map([['JPY', 500n]]));
    expect(totals).toMatchObject([
      { currency: 'JPY', count: 0, net: 0n, carriedIn: 500n, payout: 0n, carriedOut: 500n },
      { currency: 'USD', count: 1, net: 941n, carriedIn: 0n, payout: 941n, carriedOut: 0n },
    ]);
  });

  it('returns nothing for no items and no debt', () => {
    expect(settlementTotals([])).toEqual([]);
    expect(settlementTotals([], new Map([['USD', 0n]]))).toEqual([]);
  });

  it('split in two, pays earlier what a later refund turns into debt: paid minus owed is the same', () => {
    // The only difference a split makes: money paid before a later refund becomes a debt.
    const a = [payment('USD', 10_000n)];
    const b = [refund('USD', 10_000n)];
    const one = settlementTotals([...a, ...b]);
    expect(one).toMatchObject([{ net: -320n, payout: 0n, carriedOut: 320n }]);
    const first = settlementTotals(a);
    const second = settlementTotals(b, new Map([['USD', first[0]?.carriedOut ?? 0n]]));
    expect(first).toMatchObject([{ payout: 9_680n, carriedOut: 0n }]);
    expect(second).toMatchObject([{ payout: 0n, carriedOut: 10_000n }]);
    // Paid minus still owed is the same either way: 9,680 − 10,000 = 0 − 320.
    const paid = (first[0]?.payout ?? 0n) + (second[0]?.payout ?? 0n);
    expect(paid - (second[0]?.carriedOut ?? 0n)).toBe(-320n);
  });

  it.each<[string, SettlementItem[], ReadonlyMap<string, bigint>]>([
    ['a zero amount', [{ kind: 'refund', currency: 'USD', amount: 0n }], new Map()],
    ['an amount above AMOUNT_MAX', [refund('USD', AMOUNT_MAX + 1n)], new Map()],
    ['a negative fee', [{ kind: 'payment', currency: 'USD', amount: 5n, fee: -1n }], new Map()],
    [
      'a fee above the amount',
      [{ kind: 'payment', currency: 'USD', amount: 5n, fee: 6n }],
      new Map(),
    ],
    ['an unsupported currency', [refund('usd', 5n)], new Map()],
    ['a negative debt', [], new Map([['USD', -1n]])],
  ])('asserts against %s', (_name, items, carriedIn) => {
    expect(() => settlementTotals(items, carriedIn)).toThrow(LedgerAssertionError);
  });
});
