import { toJson } from './result-store';

describe('results as PostgreSQL stores them', () => {
  it('writes bigint amounts as decimal text', () => {
    expect(toJson({ amount: 12n })).toBe('{"amount":"12"}');
  });

  it('turns NUL characters into U+FFFD, which jsonb accepts', () => {
    const text = toJson({ note: 'a\u0000b', list: ['\u0000'] });
    expect(text).toBe('{"note":"a\\ufffdb","list":["\\ufffd"]}');
    expect(JSON.parse(text ?? '')).toEqual({ note: 'a\ufffdb', list: ['\ufffd'] });
  });

  it('leaves the text of an escaped backslash followed by u0000 alone', () => {
    const literal = 'path\\u0000';
    expect(JSON.parse(toJson({ literal }) ?? '')).toEqual({ literal });
    const both = '\\\u0000';
    expect(JSON.parse(toJson(both) ?? '')).toBe('\\\ufffd');
  });

  it('stores null for nothing and for what JSON cannot hold', () => {
    expect(toJson(undefined)).toBeNull();
    expect(toJson(() => 1)).toBeNull();
  });
});
