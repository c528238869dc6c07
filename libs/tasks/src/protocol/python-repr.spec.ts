import { isSecretKey, pythonRepr, pythonString, REPR_LENGTH_MAX } from './python-repr';

describe('argsrepr / kwargsrepr (Python repr)', () => {
  it('writes JSON values as Python writes them', () => {
    expect(pythonRepr([1, 2.5, 'a', true, false, null, [], {}])).toBe(
      "[1, 2.5, 'a', True, False, None, [], {}]",
    );
    expect(pythonRepr({ amount: 100, note: null, tags: ['x'] })).toBe(
      "{'amount': 100, 'note': None, 'tags': ['x']}",
    );
    expect(pythonRepr({ at: new Date('2026-01-02T03:04:05.000Z') })).toBe(
      "{'at': '2026-01-02T03:04:05.000Z'}",
    );
  });

  it('quotes and escapes strings as repr(str) does', () => {
    // Each expectation is what /usr/bin/python3 prints for repr() of the same text.
    expect(pythonString('plain')).toBe("'plain'");
    expect(pythonString("it's")).toBe('"it\'s"');
    expect(pythonString(`both ' and "`)).toBe(`'both \\' and "'`);
    expect(pythonString('a\\b\nc\td\u0001')).toBe("'a\\\\b\\nc\\td\\x01'");
    expect(pythonString('café €')).toBe("'café €'");
  });

  it('redacts the values of keys that name secrets, at any depth', () => {
    expect(
      pythonRepr({
        card_number: '4242424242424242',
        cardNumber: '4242424242424242',
        payer: { cvc: '123', name: 'Ada' },
        api_key: 'k',
        Authorization: 'Bearer x',
        company: 'ACME',
        spin_count: 3,
      }),
    ).toBe(
      "{'card_number': '***', 'cardNumber': '***', 'payer': {'cvc': '***', 'name': 'Ada'}, " +
        "'api_key': '***', 'Authorization': '***', 'company': 'ACME', 'spin_count': 3}",
    );
    expect(['password', 'client_secret', 'refreshToken', 'iban', 'pan'].every(isSecretKey)).toBe(
      true,
    );
    expect(['merchant_id', 'amount', 'expand', 'pinned_at', 'key'].some(isSecretKey)).toBe(false);
  });

  it('never passes the limit, however large the payload, and says it was cut', () => {
    const huge = {
      blob: 'x'.repeat(1_000_000),
      list: Array.from({ length: 100_000 }, (_, i) => i),
    };
    const text = pythonRepr(huge);
    expect(text.length).toBe(REPR_LENGTH_MAX);
    expect(text.startsWith("{'blob': 'xxx")).toBe(true);
    expect(text.endsWith('...')).toBe(true);
    const exact = 'y'.repeat(REPR_LENGTH_MAX - 2);
    expect(pythonRepr(exact)).toBe(`'${exact}'`);
    expect(pythonRepr(`${exact}y`)).toHaveLength(REPR_LENGTH_MAX);
  });

  it('stops at a depth instead of walking a deep structure', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 50; i += 1) deep = [deep];
    expect(pythonRepr(deep)).toBe(`${'['.repeat(8)}[...]${']'.repeat(8)}`);
  });
});
