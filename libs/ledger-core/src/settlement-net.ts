import { assert } from './assert';
import { AMOUNT_MAX, normalizeCurrency } from './currency';
import { refundFee } from './fees';

/**
 * One thing a settlement settles: a captured payment with its fee (feeFor, computed when
 * it is settled), or a succeeded refund (which carries no fee: refundFee).
 */
export type SettlementItem =
  | { kind: 'payment'; currency: string; amount: bigint; fee: bigint }
  | { kind: 'refund'; currency: string; amount: bigint };

/** A merchant's settlement in one currency, in minor units of that currency. */
export interface SettlementTotals {
  currency: string;
  /** Items settled: payments plus refunds (the rows of the settlement's report). */
  count: number;
  /** Sum of the captured payments. */
  gross: bigint;
  /** Sum of the refunds. */
  refunds: bigint;
  /** Sum of the payments' fees (refunds add none). */
  fees: bigint;
  /** gross − refunds − fees; negative when refunds outweigh what was captured. */
  net: bigint;
  /** Debt carried from the previous settlement in this currency, ≥ 0. */
  carriedIn: bigint;
  /** net − carriedIn: what this settlement leaves the merchant, before the debt rule. */
  netAfterDebt: bigint;
  /** What is paid out: netAfterDebt when positive, else 0. */
  payout: bigint;
  /** The debt handed to the next settlement: −netAfterDebt when negative, else 0. */
  carriedOut: bigint;
}

/**
 * A merchant's settlement totals per currency (sorted by currency code), and the debt rule.
 *
 * `net = gross − refunds − fees`. A debt from an earlier settlement (`carriedIn`, per
 * currency, ≥ 0) is taken from it first: `netAfterDebt = net − carriedIn`. When that is
 * positive it is paid out whole (`payout`, `carriedOut = 0`). When it is negative nothing
 * is paid (`payout = 0`) and the whole shortfall becomes the debt the next settlement of
 * the same currency starts from (`carriedOut`): it is never converted to another currency,
 * never written off, and never drawn from a payout in another currency. Always
 * `payout ≥ 0`, `carriedOut ≥ 0`, at most one of them is non-zero, and
 * `payout − carriedOut = net − carriedIn`.
 *
 * A currency that has a debt but no items this time still gets totals (count 0, carrying
 * its debt on), so the caller never loses a debt. Sums are unbounded bigints here; the
 * caller keeps a settlement within what its storage holds.
 */
export function settlementTotals(
  items: Iterable<SettlementItem>,
  carriedIn: ReadonlyMap<string, bigint> = new Map(),
): SettlementTotals[] {
  const sums = new Map<string, SettlementTotals>();
  for (const item of items) {
    let totals = sums.get(item.currency);
    if (totals === undefined) {
      totals = emptyTotals(item.currency, 0n);
      sums.set(item.currency, totals);
    }
    addItem(totals, item);
  }
  return settlementTotalsOfSums(sums.values(), carriedIn);
}

/** What a currency's items add up to, summed where they are (the database, for a run). */
export interface SettlementSums {
  currency: string;
  count: number;
  /** Sum of the payments' amounts. */
  gross: bigint;
  /** Sum of the refunds' amounts. */
  refunds: bigint;
  /** Sum of the payments' fees, each computed by feeFor. */
  fees: bigint;
}

/**
 * {@link settlementTotals} from each currency's sums rather than its items (at most one
 * entry per currency): the same totals, order and debt rule.
 */
export function settlementTotalsOfSums(
  sums: Iterable<SettlementSums>,
  carriedIn: ReadonlyMap<string, bigint> = new Map(),
): SettlementTotals[] {
  const byCurrency = new Map<string, SettlementTotals>();
  const totalsOf = (currency: string): SettlementTotals => {
    const found = byCurrency.get(currency);
    if (found) return found;
    const created = emptyTotals(currency, carriedIn.get(currency) ?? 0n);
    byCurrency.set(currency, created);
    return created;
  };
  for (const [currency, debt] of carriedIn) if (debt !== 0n) totalsOf(currency);
  const summed = new Set<string>();
  for (const sum of sums) {
    assert(!summed.has(sum.currency), 'one sum per currency');
    summed.add(sum.currency);
    assert(sum.count >= 0 && sum.gross >= 0n && sum.refunds >= 0n, 'sums are not negative');
    assert(sum.fees >= 0n && sum.fees <= sum.gross, 'fees are at most the payments');
    const totals = totalsOf(sum.currency);
    totals.count += sum.count;
    totals.gross += sum.gross;
    totals.refunds += sum.refunds;
    totals.fees += sum.fees;
  }
  return [...byCurrency.values()]
    .sort((a, b) => (a.currency < b.currency ? -1 : a.currency > b.currency ? 1 : 0))
    .map(withDebtRule);
}

function emptyTotals(currency: string, carriedIn: bigint): SettlementTotals {
  assert(normalizeCurrency(currency) === currency, `currency ${currency} is supported`);
  assert(carriedIn >= 0n, 'a carried debt is not negative');
  return {
    currency,
    count: 0,
    gross: 0n,
    refunds: 0n,
    fees: 0n,
    net: 0n,
    carriedIn,
    netAfterDebt: 0n,
    payout: 0n,
    carriedOut: 0n,
  };
}

function addItem(totals: SettlementTotals, item: SettlementItem): void {
  assert(item.amount > 0n, 'an item amount is positive');
  assert(item.amount <= AMOUNT_MAX, 'an item amount is at most AMOUNT_MAX');
  totals.count += 1;
  if (item.kind === 'payment') {
    assert(item.fee >= 0n, 'a payment fee is not negative');
    assert(item.fee <= item.amount, 'a payment fee is at most its amount');
    totals.gross += item.amount;
    totals.fees += item.fee;
  } else {
    totals.refunds += item.amount;
    totals.fees += refundFee(item.amount);
  }
}

function withDebtRule(totals: SettlementTotals): SettlementTotals {
  const net = totals.gross - totals.refunds - totals.fees;
  const netAfterDebt = net - totals.carriedIn;
  const payout = netAfterDebt > 0n ? netAfterDebt : 0n;
  const carriedOut = netAfterDebt < 0n ? -netAfterDebt : 0n;
  assert(payout - carriedOut === netAfterDebt, 'payout − carriedOut = net − carriedIn');
  return { ...totals, net, netAfterDebt, payout, carriedOut };
}
