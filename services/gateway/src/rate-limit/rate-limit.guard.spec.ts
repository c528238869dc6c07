import { rateLimitTracker } from './rate-limit.guard';

describe('rateLimitTracker', () => {
  it('counts a merchant per API key', () => {
    const auth = { kind: 'merchant', merchantId: 'mer_1', apiKeyId: 'key_1' } as const;
    expect(rateLimitTracker(auth, 'sk_admin_a')).toBe('key:key_1');
  });

  it('counts operators per admin key, by a digest that does not reveal the key', () => {
    const a = rateLimitTracker({ kind: 'operator' }, 'sk_admin_a');
    expect(a).toMatch(/^operator:[0-9a-f]{16}$/);
    expect(a).not.toContain('sk_admin');
    expect(rateLimitTracker({ kind: 'operator' }, 'sk_admin_a')).toBe(a);
    expect(rateLimitTracker({ kind: 'operator' }, 'sk_admin_b')).not.toBe(a);
  });
});
