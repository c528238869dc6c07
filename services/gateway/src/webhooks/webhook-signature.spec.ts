import { createHmac } from 'node:crypto';
import { computeSignature, signatureHeader, verifySignature } from './webhook-signature';

const secret = 'whsec_test_secret';
const body = '{"id":"evt_1","object":"event"}';
const t = 1_700_000_000;

describe('webhook signature', () => {
  it('is the hex HMAC-SHA256 of "<t>.<body>" keyed by the secret', () => {
    const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
    expect(computeSignature(secret, t, body)).toBe(expected);
    expect(signatureHeader(secret, t, body)).toBe(`t=${t},v1=${expected}`);
    // A fixed vector, so a change of scheme cannot pass unnoticed.
    expect(computeSignature('whsec_abc', 1, 'x')).toBe(
      createHmac('sha256', 'whsec_abc').update('1.x').digest('hex'),
    );
    expect(computeSignature(secret, t, body)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('verifies its own header, within the tolerance', () => {
    const header = signatureHeader(secret, t, body);
    expect(verifySignature(header, body, secret, { nowS: t + 10 })).toBe(true);
    expect(verifySignature(header, body, secret, { nowS: t + 301 })).toBe(false);
  });

  it('rejects another body, another secret, or a mangled header', () => {
    const header = signatureHeader(secret, t, body);
    expect(verifySignature(header, `${body} `, secret, { nowS: t })).toBe(false);
    expect(verifySignature(header, body, 'whsec_other', { nowS: t })).toBe(false);
    expect(verifySignature(`t=${t},v1=abcd`, body, secret, { nowS: t })).toBe(false);
    expect(verifySignature('v1=00', body, secret, { nowS: t })).toBe(false);
    expect(verifySignature(header.replace(`t=${t}`, `t=${t + 1}`), body, secret, { nowS: t })).toBe(
      false,
    );
  });

  it('accepts any one matching v1 among several (secret rotation)', () => {
    const good = computeSignature(secret, t, body);
    expect(
      verifySignature(`t=${t},v1=${'0'.repeat(64)},v1=${good}`, body, secret, { nowS: t }),
    ).toBe(true);
  });
});

describe('webhook signature after a roll with a grace period', () => {
  it('carries one v1 per secret, the new one first: an endpoint with either verifies', () => {
    const rolled = 'whsec_new_secret';
    const header = signatureHeader([rolled, secret], t, body);
    expect(header).toBe(
      `t=${t},v1=${computeSignature(rolled, t, body)},v1=${computeSignature(secret, t, body)}`,
    );
    expect(verifySignature(header, body, rolled, { nowS: t })).toBe(true);
    expect(verifySignature(header, body, secret, { nowS: t })).toBe(true);
    expect(verifySignature(header, body, 'whsec_other', { nowS: t })).toBe(false);
  });
});
