import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Clearline-Signature';
/** How old a signed timestamp a receiver should accept (replay protection). */
export const SIGNATURE_TOLERANCE_S = 300;

/** Hex HMAC-SHA256 of `<t>.<body>`, keyed by the merchant's whole `whsec_…` secret. */
export function computeSignature(secret: string, timestampS: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestampS}.${body}`).digest('hex');
}

/**
 * The `Clearline-Signature` header: `t=<unix seconds>,v1=<hex>` (Stripe's scheme), with
 * one `v1` per secret: after a roll with a grace period, the new secret's first and the
 * replaced one's second, so an endpoint with either verifies.
 */
export function signatureHeader(
  secrets: string | readonly string[],
  timestampS: number,
  body: string,
): string {
  const all = typeof secrets === 'string' ? [secrets] : secrets;
  const signatures = all.map((secret) => `v1=${computeSignature(secret, timestampS, body)}`);
  return [`t=${timestampS}`, ...signatures].join(',');
}

/**
 * What a merchant's endpoint does with the header: true if one `v1` signature matches
 * the raw body and the timestamp is within the tolerance.
 */
export function verifySignature(
  header: string,
  body: string,
  secret: string,
  { toleranceS = SIGNATURE_TOLERANCE_S, nowS = Math.floor(Date.now() / 1_000) } = {},
): boolean {
  const parts = header.split(',').map((part) => part.trim().split('='));
  const timestamp = Number(parts.find(([name]) => name === 't')?.[1]);
  if (!Number.isInteger(timestamp) || Math.abs(nowS - timestamp) > toleranceS) return false;
  const expected = Buffer.from(computeSignature(secret, timestamp, body), 'hex');
  return parts
    .filter(([name, value]) => name === 'v1' && value !== undefined)
    .some(([, value]) => {
      const given = Buffer.from(value ?? '', 'hex');
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
}
