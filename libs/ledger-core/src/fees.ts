import { assert } from './assert';
import { AMOUNT_MAX, normalizeCurrency } from './currency';

/**
 * What a merchant pays per payment: `percentBps` basis points of the amount (290 = 2.90 %)
 * plus `fixed` minor units of the payment's currency, whatever its exponent (30 is 30
 * cents in USD, ¥30 in JPY, 0.030 KWD in KWD).
 */
export interface Pricing {
  /** Integer basis points, 0 to PERCENT_BPS_MAX. */
  percentBps: number;
  /** Minor units of the payment's currency, ≥ 0. */
  fixed: bigint;
}

/** 100 % in basis points: the largest percentage a pricing may take. */
export const PERCENT_BPS_MAX = 10_000;

const BPS_PER_UNIT = BigInt(PERCENT_BPS_MAX);

/**
 * The percentage part of a payment's fee: `percentBps` of `amount`, rounded half up to a
 * whole minor unit (an exact .5 goes up, away from zero, as amounts are positive).
 *
 * Computed exactly in bigint: floor(amount × bps / 10,000 + ½) is
 * floor((2 × amount × bps + 10,000) / 20,000), with no float and no intermediate rounding,
 * for any amount up to AMOUNT_MAX.
 */
export function percentFee(amount: bigint, percentBps: number): bigint {
  assertPayment(amount);
  assertPercentBps(percentBps);
  return (2n * amount * BigInt(percentBps) + BPS_PER_UNIT) / (2n * BPS_PER_UNIT);
}

/**
 * The fee of ONE captured payment of `amount` minor units of `currency`:
 * `percentFee(amount, percentBps) + fixed`, capped at the amount.
 *
 * The rule, applied per payment and never to a sum of payments:
 * - the percentage part is rounded half up to a whole minor unit (see percentFee), so a
 *   fee is never a fraction of a minor unit, in any exponent (JPY 0, USD 2, KWD 3);
 * - `fixed` is added as is, in the payment's currency's minor units;
 * - the fee never exceeds the payment (its net is ≥ 0) and is never negative: a USD 0.10
 *   payment at 2.9 % + 30 costs 10, not 30.
 *
 * Inputs are asserted, not refused: an amount of 1 to AMOUNT_MAX, an integer `percentBps`
 * of 0 to PERCENT_BPS_MAX, a `fixed` of 0 to AMOUNT_MAX and a supported upper-case
 * currency were all checked where they entered the system.
 */
export function feeFor(amount: bigint, pricing: Pricing, currency: string): bigint {
  assert(normalizeCurrency(currency) === currency, `currency ${currency} is supported`);
  assert(pricing.fixed >= 0n, 'fixed fee is not negative');
  assert(pricing.fixed <= AMOUNT_MAX, 'fixed fee is at most AMOUNT_MAX');
  const fee = percentFee(amount, pricing.percentBps) + pricing.fixed;
  return fee < amount ? fee : amount;
}

/**
 * The fee a refund of `amount` changes: always 0n. Like Stripe, the platform keeps the fee
 * of a refunded payment (the processor's cost of the payment was incurred) and charges
 * nothing more for the refund: the merchant's settlement loses the refunded amount, no
 * fee comes back and none is added.
 */
export function refundFee(amount: bigint): bigint {
  assertPayment(amount);
  return 0n;
}

function assertPayment(amount: bigint): void {
  assert(amount > 0n, 'amount is positive');
  assert(amount <= AMOUNT_MAX, 'amount is at most AMOUNT_MAX');
}

function assertPercentBps(percentBps: number): void {
  assert(Number.isInteger(percentBps), 'percentBps is an integer');
  assert(percentBps >= 0, 'percentBps is not negative');
  assert(percentBps <= PERCENT_BPS_MAX, 'percentBps is at most PERCENT_BPS_MAX');
}
