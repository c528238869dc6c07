import { randomBytes } from 'node:crypto';
import { decodeSecretBoxKey, SecretBox, SecretBoxError, secretBoxFor } from './secret-box';

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));
  const secret = '{"api_key":"sk_test_0123456789abcdef","webhook_secret":"whsec_abc"}';

  it('seals text so it no longer shows, and opens it again', () => {
    const sealed = box.seal(secret, 'scope/key');
    expect(sealed).toMatch(/^sb1\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('sk_test');
    expect(sealed).not.toContain('whsec');
    expect(SecretBox.isSealed(sealed)).toBe(true);
    expect(SecretBox.isSealed(secret)).toBe(false);
    expect(box.open(sealed, 'scope/key')).toBe(secret);
    expect(box.open(box.seal(''))).toBe('');
  });

  it('seals the same text differently each time (a fresh nonce)', () => {
    expect(box.seal(secret)).not.toBe(box.seal(secret));
  });

  it('refuses to open for another context, with another key, altered, or not sealed', () => {
    const sealed = box.seal(secret, 'scope/key');
    expect(() => box.open(sealed, 'scope/other')).toThrow(SecretBoxError);
    expect(() => new SecretBox(randomBytes(32)).open(sealed, 'scope/key')).toThrow(/another key/);
    const packed = sealed.split('.')[2]!;
    const flipped = `${packed.slice(0, -2)}${packed.endsWith('A') ? 'B' : 'A'}${packed.slice(-1)}`;
    expect(() => box.open(sealed.replace(packed, flipped), 'scope/key')).toThrow(/altered/);
    expect(() => box.open(secret)).toThrow(/not a sealed value/);
    expect(() => box.open(`sb1.${box.keyId}.AAAA`)).toThrow(/too short/);
  });

  it('takes only a 32-byte key', () => {
    expect(() => new SecretBox(randomBytes(16))).toThrow(RangeError);
    const text = randomBytes(32).toString('base64');
    expect(decodeSecretBoxKey(text)?.length).toBe(32);
    expect(decodeSecretBoxKey(randomBytes(31).toString('base64'))).toBeNull();
    expect(decodeSecretBoxKey(randomBytes(32).toString('base64url'))).toBeNull();
    expect(decodeSecretBoxKey(` ${text}`)).toBeNull();
  });
});

describe('secretBoxFor', () => {
  it('uses SECRETS_ENCRYPTION_KEY: boxes of the same key open each other', () => {
    const key = randomBytes(32).toString('base64');
    const env = { NODE_ENV: 'production' as const, SECRETS_ENCRYPTION_KEY: key };
    const sealed = secretBoxFor(env).seal('s');
    expect(secretBoxFor(env).open(sealed)).toBe('s');
  });

  it('refuses production without a key, naming the variable', () => {
    expect(() => secretBoxFor({ NODE_ENV: 'production' })).toThrow(/^SECRETS_ENCRYPTION_KEY: /);
  });

  it('generates one key per process elsewhere, with one warning', () => {
    const warn = jest.fn<undefined, [string]>();
    const first = secretBoxFor({ NODE_ENV: 'test' }, { warn });
    const second = secretBoxFor({ NODE_ENV: 'development' }, { warn });
    expect(second.open(first.seal('s'))).toBe('s');
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/SECRETS_ENCRYPTION_KEY is not set/);
  });
});
