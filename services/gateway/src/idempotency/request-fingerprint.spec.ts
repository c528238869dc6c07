import { canonicalJson, requestHash } from './request-fingerprint';

describe('request fingerprint', () => {
  it('ignores key order at every depth', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,{"x":1,"y":2}]},"b":1}',
    );
    expect(requestHash('POST', '/v1/x', { a: 1, b: 2 })).toBe(
      requestHash('post', '/v1/x', { b: 2, a: 1 }),
    );
  });

  it('tells apart another body, path or method', () => {
    const base = requestHash('POST', '/v1/x', { a: 1 });
    expect(requestHash('POST', '/v1/x', { a: 2 })).not.toBe(base);
    expect(requestHash('POST', '/v1/y', { a: 1 })).not.toBe(base);
    expect(requestHash('PUT', '/v1/x', { a: 1 })).not.toBe(base);
    expect(requestHash('POST', '/v1/x', { a: '1' })).not.toBe(base);
  });

  it('treats a missing body as null', () => {
    expect(requestHash('POST', '/v1/x', undefined)).toBe(requestHash('POST', '/v1/x', null));
  });
});
