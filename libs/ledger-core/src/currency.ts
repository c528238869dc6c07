/**
 * ISO 4217 currencies Clearline accepts, with their minor-unit exponents. Amounts are
 * always integers in the minor unit (cents for USD, yen for JPY, fils for KWD).
 */
export const CURRENCY_EXPONENTS: Readonly<Record<string, number>> = {
  USD: 2,
  EUR: 2,
  GBP: 2,
  CHF: 2,
  CAD: 2,
  AUD: 2,
  SEK: 2,
  NOK: 2,
  DKK: 2,
  PLN: 2,
  CZK: 2,
  SGD: 2,
  HKD: 2,
  NZD: 2,
  MXN: 2,
  BRL: 2,
  INR: 2,
  CNY: 2,
  ZAR: 2,
  JPY: 0,
  KRW: 0,
  CLP: 0,
  ISK: 0,
  VND: 0,
  KWD: 3,
  BHD: 3,
  JOD: 3,
  OMR: 3,
  TND: 3,
};

/** `currency` as the ledger stores it (upper case), or null if it is not supported. */
export function normalizeCurrency(currency: string): string | null {
  const code = currency.toUpperCase();
  return Object.hasOwn(CURRENCY_EXPONENTS, code) ? code : null;
}

/** The largest amount a transfer or a balance may hold: PostgreSQL's bigint. */
export const AMOUNT_MAX = 2n ** 63n - 1n;
