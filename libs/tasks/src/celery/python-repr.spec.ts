import { exceptionRepr, pythonRepr, pythonString } from './python-repr';

// Expected strings are what CPython 3 prints for the same values (`repr(...)`).
describe('pythonRepr', () => {
  it('prints JSON values as Python literals', () => {
    expect(pythonRepr({ amount: 100, ok: true, note: null, list: [1.5, 'a'] })).toBe(
      "{'amount': 100, 'ok': True, 'note': None, 'list': [1.5, 'a']}",
    );
    expect(pythonRepr(undefined)).toBe('None');
    expect(pythonRepr([])).toBe('[]');
    expect(pythonRepr(1e21)).toBe('1e+21');
    expect(pythonRepr(Number.NaN)).toBe('nan');
    expect(pythonRepr(12345678901234567890n)).toBe('12345678901234567890');
    expect(pythonRepr(new Date('2026-01-02T03:04:05.000Z'))).toBe("'2026-01-02T03:04:05.000Z'");
  });

  it('quotes and escapes strings as Python does', () => {
    expect(pythonString("it's")).toBe(`"it's"`);
    expect(pythonString('say "hi"')).toBe(`'say "hi"'`);
    expect(pythonString(`both ' and "`)).toBe(`'both \\' and "'`);
    expect(pythonString('tab\there\nnl\\ back')).toBe("'tab\\there\\nnl\\\\ back'");
    expect(pythonString('\x01\x7f é')).toBe("'\\x01\\x7f é'");
  });

  it("cuts at Celery's 1,024 characters and stops walking a large value", () => {
    const big = Array.from({ length: 1_000_000 }, (_, i) => i);
    const text = pythonRepr(big);
    expect(text).toHaveLength(1_024 + 3);
    expect(text.startsWith('[0, 1, 2, ')).toBe(true);
    expect(text.endsWith('...')).toBe(true);
    expect(pythonRepr('x'.repeat(10), 4)).toBe("'xxx...");
  });

  it('shows a cycle or deep nesting as ...', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    expect(pythonRepr(cyclic)).toBe("{'a': 1, 'self': ...}");
    let deep: unknown = 'bottom';
    for (let i = 0; i < 20; i += 1) deep = [deep];
    expect(pythonRepr(deep)).toContain('[...]');
  });

  it('prints exceptions as repr(exc)', () => {
    expect(exceptionRepr('ValueError', 'bad amount')).toBe("ValueError('bad amount')");
    expect(exceptionRepr('Exception', "it's")).toBe(`Exception("it's")`);
  });
});
