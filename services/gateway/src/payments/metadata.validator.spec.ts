import { metadataProblem } from './metadata.validator';

const entries = (count: number, keyLength = 3, valueLength = 3): Record<string, string> =>
  Object.fromEntries(
    Array.from({ length: count }, (_, i) => [
      String(i).padStart(keyLength, 'k'),
      'v'.repeat(valueLength),
    ]),
  );

describe('metadata (Stripe limits)', () => {
  it('accepts up to 50 keys of 40 characters with string values of 500', () => {
    expect(metadataProblem({})).toBeNull();
    expect(metadataProblem(entries(50, 40, 500))).toBeNull();
  });

  it('refuses more keys, longer keys or values, and values that are not strings', () => {
    expect(metadataProblem(entries(51))).toMatch(/at most 50 keys/);
    expect(metadataProblem(entries(1, 41))).toMatch(/keys must be 1 to 40/);
    expect(metadataProblem({ '': 'x' })).toMatch(/keys must be/);
    expect(metadataProblem({ 'a[b]': 'x' })).toMatch(/square brackets/);
    expect(metadataProblem(entries(1, 3, 501))).toMatch(/at most 500/);
    expect(metadataProblem({ a: 1 })).toMatch(/must be a string/);
    expect(metadataProblem({ a: { b: 'c' } })).toMatch(/must be a string/);
    expect(metadataProblem({ a: null })).toMatch(/must be a string/);
  });

  it('refuses anything but an object', () => {
    for (const value of [null, [], ['a'], 'a', 5]) {
      expect(metadataProblem(value)).toMatch(/must be an object/);
    }
  });
});
