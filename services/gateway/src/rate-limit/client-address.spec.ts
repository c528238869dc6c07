import { addressTracker, clientAddress, parseTrustProxy, type TrustProxy } from './client-address';

function request(peer: string, forwarded?: string | string[]) {
  return {
    socket: { remoteAddress: peer },
    headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded },
  };
}

function trust(value: string): TrustProxy {
  const parsed = parseTrustProxy(value);
  if (!parsed) throw new Error(`invalid TRUST_PROXY ${value}`);
  return parsed;
}

describe('parseTrustProxy', () => {
  it('trusts no proxy when unset, empty or 0', () => {
    for (const value of [undefined, '', ' ', '0']) {
      expect(parseTrustProxy(value)).toEqual({ kind: 'none' });
    }
  });

  it('takes a hop count of 1 to 10, or a list of addresses, subnets and named ranges', () => {
    expect(parseTrustProxy('2')).toEqual({ kind: 'hops', hops: 2 });
    for (const value of ['10.0.0.1', '10.0.0.0/8, fd00::/8', 'loopback,uniquelocal', '::1']) {
      expect(parseTrustProxy(value)?.kind).toBe('addresses');
    }
  });

  it('refuses anything else, "trust everyone" included', () => {
    for (const value of ['true', '11', '-1', '10.0.0.0/33', '10.0.0.0/8/1', 'proxy.local', 'a,']) {
      expect(parseTrustProxy(value)).toBeNull();
    }
  });
});

describe('clientAddress', () => {
  it('is the socket peer when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(clientAddress(request('203.0.113.9', '198.51.100.1'), trust(''))).toBe('203.0.113.9');
    expect(clientAddress(request('::ffff:203.0.113.9'), trust(''))).toBe('203.0.113.9');
  });

  it('counts trusted hops from the end of X-Forwarded-For, never past its start', () => {
    const through = request('10.0.0.2', 'spoofed, 198.51.100.7, 10.0.0.1');
    expect(clientAddress(through, trust('1'))).toBe('10.0.0.1');
    expect(clientAddress(through, trust('2'))).toBe('198.51.100.7');
    expect(clientAddress(request('10.0.0.2', '198.51.100.7'), trust('5'))).toBe('198.51.100.7');
    expect(clientAddress(request('10.0.0.2'), trust('1'))).toBe('10.0.0.2');
  });

  it('skips proxies at trusted addresses, and stops at the first address none vouches for', () => {
    const proxies = trust('10.0.0.0/8');
    const through = request('10.0.0.2', ['spoofed, 198.51.100.7', '10.0.0.1']);
    expect(clientAddress(through, proxies)).toBe('198.51.100.7');
    // A request straight from the internet: its own X-Forwarded-For is not read.
    expect(clientAddress(request('198.51.100.8', '10.0.0.9'), proxies)).toBe('198.51.100.8');
    expect(clientAddress(request('10.0.0.2', '10.0.0.1'), proxies)).toBe('10.0.0.1');
  });
});

describe('addressTracker', () => {
  it('names an address by a digest, never by the address', () => {
    const tracker = addressTracker('203.0.113.9');
    expect(tracker).toMatch(/^addr:[0-9a-f]{24}$/);
    expect(addressTracker('203.0.113.9')).toBe(tracker);
    expect(addressTracker('203.0.113.10')).not.toBe(tracker);
  });

  it('counts an IPv6 client by its /64, however the address is written', () => {
    const tracker = addressTracker('2001:db8:1:2::1');
    expect(addressTracker('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe(tracker);
    expect(addressTracker('2001:0db8:0001:0002:0:0:0:7')).toBe(tracker);
    expect(addressTracker('2001:db8:1:3::1')).not.toBe(tracker);
    expect(addressTracker('::1')).toBe(addressTracker('::2'));
    expect(addressTracker('64:ff9b::192.0.2.1')).toBe(addressTracker('64:ff9b::1'));
  });
});
