import { createHash, timingSafeEqual } from 'node:crypto';
import { randomBase62 } from '@clearline/contracts';

export const API_KEY_PREFIX = 'sk_test_';
/** 32 base62 characters: about 190 bits. */
const API_KEY_RANDOM_LENGTH = 32;
/** What may be shown of a key once it is issued: its prefix and four characters. */
const DISPLAY_LENGTH = API_KEY_PREFIX.length + 4;
/**
 * The shape of every key `issueApiKey` makes. A token of another shape is refused
 * without a lookup: it cannot be a key.
 */
export const API_KEY_PATTERN = new RegExp(
  `^${API_KEY_PREFIX}[0-9A-Za-z]{${API_KEY_RANDOM_LENGTH}}$`,
);

export interface IssuedApiKey {
  /** The secret, shown once and never stored. */
  secret: string;
  hash: string;
  prefix: string;
}

export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function issueApiKey(): IssuedApiKey {
  const secret = `${API_KEY_PREFIX}${randomBase62(API_KEY_RANDOM_LENGTH)}`;
  return { secret, hash: hashApiKey(secret), prefix: secret.slice(0, DISPLAY_LENGTH) };
}

/** Compares two secrets in time that does not depend on where they differ. */
export function secretsEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
