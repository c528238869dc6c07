import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 24 base62 characters carry about 143 bits: ids are unguessable, not just unique. */
const ID_LENGTH = 24;

/** Random base62 text; bytes of 248 and above are skipped so every character is equally likely. */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALPHABET.charAt(byte % 62);
    }
  }
  return out;
}

/** A Stripe-style object id: `mer_…`, `evt_…`, `stl_…`, `po_…`. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBase62(ID_LENGTH)}`;
}
