import { createHash } from 'node:crypto';
import { BlockList, isIP } from 'node:net';

/**
 * Which proxies in front of the gateway may name the client in `X-Forwarded-For`
 * (`TRUST_PROXY`): none (the socket's peer is the client), the last `hops` proxies,
 * or any proxy whose address is in `trusted`.
 */
export type TrustProxy =
  { kind: 'none' } | { kind: 'hops'; hops: number } | { kind: 'addresses'; trusted: BlockList };

/** The most proxies `TRUST_PROXY` may count. */
export const TRUST_PROXY_HOPS_MAX = 10;

/** Express's names for ranges a `TRUST_PROXY` list may use. */
const NAMED_RANGES: Readonly<Record<string, readonly string[]>> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/** An IPv4 address written as IPv6 (`::ffff:10.0.0.1`, as Node shows dual-stack peers) as IPv4. */
function unmapped(address: string): string {
  const match = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return match?.[1] ?? address;
}

/** Adds `entry` (an address, an address/prefix, or a named range) to `list`; false if invalid. */
function addEntry(list: BlockList, entry: string): boolean {
  const named = NAMED_RANGES[entry];
  if (named) return named.every((range) => addEntry(list, range));
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (prefix === undefined) {
    list.addAddress(address, type);
    return true;
  }
  const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : -1;
  if (bits < 0 || bits > (family === 4 ? 32 : 128)) return false;
  list.addSubnet(address, bits, type);
  return true;
}

/**
 * `TRUST_PROXY` as the gateway reads it, or null when it is not valid: unset or empty
 * trusts no proxy; a whole number 1-10 trusts that many proxies in front (the client is
 * that many entries from the end of `X-Forwarded-For`); a comma list of addresses,
 * subnets (`10.0.0.0/8`) and the names `loopback`, `linklocal`, `uniquelocal` trusts
 * proxies at those addresses. "Trust every proxy" is not offered: the client itself
 * would then choose the address its requests are counted against.
 */
export function parseTrustProxy(value: string | undefined): TrustProxy | null {
  const text = value?.trim() ?? '';
  if (text === '' || text === '0') return { kind: 'none' };
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    return hops <= TRUST_PROXY_HOPS_MAX ? { kind: 'hops', hops } : null;
  }
  const trusted = new BlockList();
  const entries = text.split(',').map((entry) => entry.trim());
  return entries.every((entry) => addEntry(trusted, entry)) ? { kind: 'addresses', trusted } : null;
}

/** What of a request names its client: the socket's peer and `X-Forwarded-For`. */
export interface ClientRequest {
  socket: { remoteAddress?: string | undefined };
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

function isTrusted(trusted: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && trusted.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The client's address: the socket's peer, unless trusted proxies stand in between.
 * Then `X-Forwarded-For` is read from its end (each proxy appends the address it got
 * the request from), skipping the trusted proxies: the first address no trusted proxy
 * vouches for is the client. Entries to the left of it are the client's own claims and
 * are never read.
 */
export function clientAddress(request: ClientRequest, trust: TrustProxy): string {
  const peer = unmapped(request.socket.remoteAddress ?? 'unknown');
  if (trust.kind === 'none') return peer;
  const header = request.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((entry) => unmapped(entry.trim()))
    .filter((entry) => entry !== '');
  // Nearest first: the peer, then the address the nearest proxy saw, and so on.
  const chain = [peer, ...forwarded.reverse()];
  if (trust.kind === 'hops') return chain[Math.min(trust.hops, chain.length - 1)] ?? peer;
  let index = 0;
  while (index < chain.length - 1 && isTrusted(trust.trusted, chain[index] ?? '')) index += 1;
  return chain[index] ?? peer;
}

/** The first 64 bits of an IPv6 address, as eight bytes; null if `address` is not IPv6. */
function ipv6Network(address: string): Buffer | null {
  if (isIP(address) !== 6) return null;
  const [head = '', tail] = address.split('::');
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  // An embedded IPv4 tail (`::a.b.c.d`) lies in the low 64 bits: it never reaches the network.
  const missing = 8 - left.length - right.length - (right.at(-1)?.includes('.') ? 1 : 0);
  const full = [...left, ...Array<string>(Math.max(0, missing)).fill('0'), ...right];
  return Buffer.from(
    full
      .slice(0, 4)
      .map((group) => group.padStart(4, '0'))
      .join(''),
    'hex',
  );
}

/**
 * Who failed authentications are counted against: the client's address, or for IPv6 its
 * /64 network (a single host is usually given a whole /64, and would otherwise choose
 * among 2^64 addresses). Named by a digest: an address is personal data and the
 * tracker lands in Redis key names; a forwarded "address" may hold anything.
 */
export function addressTracker(address: string): string {
  const network = ipv6Network(address);
  const counted = network ? `${network.toString('hex')}/64` : address;
  return `addr:${createHash('sha256').update(counted).digest('hex').slice(0, 24)}`;
}
