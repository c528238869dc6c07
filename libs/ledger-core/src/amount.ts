import { AMOUNT_MAX } from './currency';
import type { TransferResult } from './results';

/** An amount as parsed from the wire: a valid transfer amount, or why it is not one. */
export type ParsedAmount = { amount: bigint } | { invalid: TransferResult };

/** The exact wire form: an optional '-' and digits without leading zeros. */
const INTEGER_TEXT = /^-?(?:0|[1-9]\d*)$/;

/** Digits of AMOUNT_MAX: a longer canonical integer is out of range whatever its digits. */
const AMOUNT_DIGITS_MAX = AMOUNT_MAX.toString().length;

/**
 * Parses a transfer amount as it came over the wire (JSON), into exactly the amounts a
 * transfer may carry: 1 to AMOUNT_MAX minor units.
 *
 * Accepted forms are a JSON number that is a safe integer, a string of digits in
 * canonical form (`/^-?(0|[1-9]\d*)$/`: no spaces, '+', exponent or leading zeros), and
 * a bigint. Refusals, checked in this order:
 * - `amount_must_be_integer`: fractions, NaN, Infinity, any other string, booleans,
 *   null, undefined, objects;
 * - `amount_must_be_positive`: zero or negative (the sign survives any precision loss);
 * - `amount_is_imprecise`: a number beyond Number.MAX_SAFE_INTEGER, whose digits JSON
 *   parsing may already have changed (send such amounts as strings);
 * - `amount_exceeds_maximum`: more than AMOUNT_MAX.
 *
 * A post or void may omit its amount; callers parse only an amount that is present.
 */
export function parseAmount(raw: unknown): ParsedAmount {
  if (typeof raw === 'bigint') return checkRange(raw);
  if (typeof raw === 'number') return parseNumber(raw);
  if (typeof raw === 'string') return parseText(raw);
  return { invalid: 'amount_must_be_integer' };
}

/** The wire form of an amount or balance: decimal digits, exact, as parseAmount reads them. */
export function formatAmount(amount: bigint): string {
  return amount.toString(10);
}

function parseNumber(raw: number): ParsedAmount {
  if (!Number.isInteger(raw)) return { invalid: 'amount_must_be_integer' };
  if (raw <= 0) return { invalid: 'amount_must_be_positive' };
  if (!Number.isSafeInteger(raw)) return { invalid: 'amount_is_imprecise' };
  return checkRange(BigInt(raw));
}

function parseText(raw: string): ParsedAmount {
  if (!INTEGER_TEXT.test(raw)) return { invalid: 'amount_must_be_integer' };
  if (raw.startsWith('-') || raw === '0') return { invalid: 'amount_must_be_positive' };
  // Refuse before BigInt() so a megabyte of digits costs nothing.
  if (raw.length > AMOUNT_DIGITS_MAX) return { invalid: 'amount_exceeds_maximum' };
  return checkRange(BigInt(raw));
}

function checkRange(amount: bigint): ParsedAmount {
  if (amount <= 0n) return { invalid: 'amount_must_be_positive' };
  if (amount > AMOUNT_MAX) return { invalid: 'amount_exceeds_maximum' };
  return { amount };
}
