import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { Logger, type FactoryProvider } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { GatewayEnvironment } from '../gateway.env';

/** AES-256 takes a 32-byte key (`SECRETS_ENCRYPTION_KEY`, base64). */
export const SECRET_BOX_KEY_BYTES = 32;
/** GCM's recommended nonce size; a fresh random one per seal. */
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** The format's version, first in every sealed value: `sb1.<key id>.<base64url>`. */
const FORMAT = 'sb1';
/** 32 bytes in standard base64 (what `openssl rand -base64 32` prints): 43 characters and `=`. */
const KEY_PATTERN = /^[A-Za-z0-9+/]{43}=$/;

/** A sealed value that cannot be opened: sealed with another key, altered, or not sealed. */
export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError';
}

/**
 * The key `SECRETS_ENCRYPTION_KEY` names: 32 bytes from standard base64, or null when the
 * text is anything else (the caller names the variable; the value is never echoed).
 */
export function decodeSecretBoxKey(text: string): Buffer | null {
  if (!KEY_PATTERN.test(text)) return null;
  const key = Buffer.from(text, 'base64');
  return key.length === SECRET_BOX_KEY_BYTES ? key : null;
}

/**
 * Seals secrets that must be kept at rest (API keys and webhook secrets in stored
 * idempotent responses) with AES-256-GCM: confidential and tamper-evident. A sealed value
 * is text, `sb1.<key id>.<base64url of iv | tag | ciphertext>`, so it fits any text column.
 *
 * `context` is bound to the ciphertext as additional authenticated data: a value sealed
 * for one row (say its idempotency scope and key) does not open for another, so sealed
 * values cannot be swapped between rows. The key id (8 characters of an HMAC of the key,
 * which reveals nothing usable about it) tells "sealed with another key" apart from
 * "altered", for an error that says which.
 */
export class SecretBox {
  private readonly key: Buffer;
  /** Names this box's key in what it seals. */
  readonly keyId: string;

  constructor(key: Buffer) {
    if (key.length !== SECRET_BOX_KEY_BYTES) {
      throw new RangeError(`a secret box key is ${SECRET_BOX_KEY_BYTES} bytes, not ${key.length}`);
    }
    this.key = Buffer.from(key);
    this.keyId = createHmac('sha256', this.key)
      .update('clearline secret box key id')
      .digest('base64url')
      .slice(0, 8);
  }

  /** Whether `value` is in the sealed format (by its prefix; it may still fail to open). */
  static isSealed(value: string): boolean {
    return value.startsWith(`${FORMAT}.`);
  }

  seal(text: string, context = ''): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
    const packed = Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64url');
    return `${FORMAT}.${this.keyId}.${packed}`;
  }

  /** The text `seal(text, context)` sealed; throws `SecretBoxError` when it cannot. */
  open(sealed: string, context = ''): string {
    const [format, keyId, packed, ...rest] = sealed.split('.');
    if (format !== FORMAT || packed === undefined || rest.length > 0) {
      throw new SecretBoxError('not a sealed value');
    }
    if (keyId !== this.keyId) {
      throw new SecretBoxError('sealed with another key than SECRETS_ENCRYPTION_KEY now holds');
    }
    const raw = Buffer.from(packed, 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new SecretBoxError('sealed value too short');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      const text = decipher.update(raw.subarray(IV_BYTES + TAG_BYTES));
      return Buffer.concat([text, decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError('sealed value altered, or sealed for another context');
    }
  }
}

/** Generated once per process when `SECRETS_ENCRYPTION_KEY` is unset (never in production). */
let processKey: Buffer | null = null;

/**
 * The box for `SECRETS_ENCRYPTION_KEY`. Production requires the variable (the
 * environment's validation refuses to start without it; this checks again). Elsewhere,
 * without it, a key is generated once per process, with a warning: what it sealed
 * cannot be opened after a restart or by another replica.
 */
export function secretBoxFor(
  env: Pick<GatewayEnvironment, 'NODE_ENV' | 'SECRETS_ENCRYPTION_KEY'>,
  logger: Pick<Logger, 'warn'> = new Logger(SecretBox.name),
): SecretBox {
  if (env.SECRETS_ENCRYPTION_KEY !== undefined) {
    const key = decodeSecretBoxKey(env.SECRETS_ENCRYPTION_KEY);
    if (!key) throw new Error('SECRETS_ENCRYPTION_KEY: must be 32 bytes in base64');
    return new SecretBox(key);
  }
  if (env.NODE_ENV === 'production') {
    throw new Error('SECRETS_ENCRYPTION_KEY: must be set with NODE_ENV=production');
  }
  if (!processKey) {
    processKey = randomBytes(SECRET_BOX_KEY_BYTES);
    logger.warn(
      'SECRETS_ENCRYPTION_KEY is not set: secrets kept for idempotent replays are sealed ' +
        'with a key generated for this process, so their replays fail after a restart or ' +
        'on another replica (set it to the output of `openssl rand -base64 32`)',
    );
  }
  return new SecretBox(processKey);
}

/** `SecretBox` for Nest: one per module that lists it, all with the same key. */
export const SECRET_BOX_PROVIDER: FactoryProvider<SecretBox> = {
  provide: SecretBox,
  inject: [ConfigService],
  useFactory: (config: ConfigService<GatewayEnvironment, true>) =>
    secretBoxFor({
      NODE_ENV: config.get('NODE_ENV', { infer: true }),
      SECRETS_ENCRYPTION_KEY: config.get('SECRETS_ENCRYPTION_KEY', { infer: true }),
    }),
};
