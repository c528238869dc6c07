import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * What an IP address is, for deciding whether a webhook may be POSTed to it. `public`:
 * globally reachable unicast. Every other class is refused by default; `private` ones
 * (`PRIVATE_ADDRESS_CLASSES`) are allowed with `WEBHOOK_ALLOW_PRIVATE=1`, the rest never.
 */
export type AddressClass =
  | 'public'
  /** A cloud's instance metadata service: credentials live there. Never allowed. */
  | 'metadata'
  /** 0.0.0.0/8, `::`: "this host" to most stacks. */
  | 'unspecified'
  | 'loopback'
  /** RFC 1918, fc00::/7 (unique local), fec0::/10, local-use NAT64. */
  | 'private'
  | 'link_local'
  /** 100.64.0.0/10, carrier-grade NAT (RFC 6598), where some clouds put internal services. */
  | 'cgnat'
  | 'multicast'
  | 'broadcast'
  /** Documentation ranges (RFC 5737, RFC 3849, RFC 9637): never real hosts. */
  | 'documentation'
  /** Anything else not globally reachable: IETF protocol assignments, benchmarking, future use. */
  | 'reserved';

/** The classes `WEBHOOK_ALLOW_PRIVATE=1` lets through (local endpoints in development and tests). */
export const PRIVATE_ADDRESS_CLASSES: readonly AddressClass[] = [
  'loopback',
  'private',
  'link_local',
  'cgnat',
];

type Subnet = readonly [address: string, prefix: number];

/**
 * The special-purpose ranges (IANA's IPv4 and IPv6 special-purpose registries), by class,
 * most specific first: the first class with a matching range wins, so the metadata
 * addresses are found before the link-local or unique-local ranges that hold them.
 */
const IPV4_RANGES: readonly (readonly [AddressClass, readonly Subnet[]])[] = [
  [
    'metadata',
    [
      ['169.254.169.254', 32], // AWS, GCP, Azure, OCI, DigitalOcean, OpenStack
      ['169.254.170.2', 32], // AWS ECS task metadata
      ['100.100.100.200', 32], // Alibaba Cloud
      ['168.63.129.16', 32], // Azure host (WireServer), a public-looking address
      ['192.0.0.192', 32], // Oracle Cloud (legacy)
    ],
  ],
  ['broadcast', [['255.255.255.255', 32]]],
  ['unspecified', [['0.0.0.0', 8]]],
  ['loopback', [['127.0.0.0', 8]]],
  [
    'private',
    [
      ['10.0.0.0', 8],
      ['172.16.0.0', 12],
      ['192.168.0.0', 16],
    ],
  ],
  ['link_local', [['169.254.0.0', 16]]],
  ['cgnat', [['100.64.0.0', 10]]],
  [
    'documentation',
    [
      ['192.0.2.0', 24],
      ['198.51.100.0', 24],
      ['203.0.113.0', 24],
    ],
  ],
  ['multicast', [['224.0.0.0', 4]]],
  [
    'reserved',
    [
      ['192.0.0.0', 24], // IETF protocol assignments
      ['192.88.99.0', 24], // 6to4 relay anycast (deprecated)
      ['198.18.0.0', 15], // benchmarking
      ['240.0.0.0', 4], // future use
    ],
  ],
];

const IPV6_RANGES: readonly (readonly [AddressClass, readonly Subnet[]])[] = [
  ['metadata', [['fd00:ec2::254', 128]]], // AWS IMDS over IPv6
  ['unspecified', [['::', 128]]],
  ['loopback', [['::1', 128]]],
  [
    'private',
    [
      ['fc00::', 7], // unique local
      ['fec0::', 10], // site-local (deprecated)
      ['64:ff9b:1::', 48], // local-use NAT64
    ],
  ],
  ['link_local', [['fe80::', 10]]],
  ['multicast', [['ff00::', 8]]],
  [
    'documentation',
    [
      ['2001:db8::', 32],
      ['3fff::', 20],
    ],
  ],
  [
    'reserved',
    [
      ['100::', 64], // discard-only
      ['2001::', 23], // IETF protocol assignments: Teredo, benchmarking, ORCHID
      ['5f00::', 16], // SRv6 SIDs
    ],
  ],
];

function blockList(family: 'ipv4' | 'ipv6', subnets: readonly Subnet[]): BlockList {
  const list = new BlockList();
  for (const [address, prefix] of subnets) list.addSubnet(address, prefix, family);
  return list;
}

const IPV4_TABLE = IPV4_RANGES.map(
  ([kind, subnets]) => [kind, blockList('ipv4', subnets)] as const,
);
const IPV6_TABLE = IPV6_RANGES.map(
  ([kind, subnets]) => [kind, blockList('ipv6', subnets)] as const,
);
/** Global unicast: IPv6 outside it is not allocated for hosts, so not public. */
const GLOBAL_UNICAST = blockList('ipv6', [['2000::', 3]]);

/**
 * The eight 16-bit groups of an IPv6 address (a zone id is dropped, an embedded dotted
 * IPv4 tail becomes two groups); null if `text` is not one.
 */
export function ipv6Groups(text: string): number[] | null {
  let address = text.split('%')[0] ?? '';
  if (!isIPv6(address)) return null;
  const lastColon = address.lastIndexOf(':');
  const dotted = address.slice(lastColon + 1);
  if (isIPv4(dotted)) {
    // The dotted tail as the two groups it stands for: `::ffff:1.2.3.4` is `::ffff:102:304`.
    const [a = 0, b = 0, c = 0, d = 0] = dotted.split('.').map(Number);
    const groups = [(a << 8) | b, (c << 8) | d].map((group) => group.toString(16)).join(':');
    address = `${address.slice(0, lastColon + 1)}${groups}`;
  }
  const [head = '', rest] = address.split('::');
  const parse = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((group) => parseInt(group, 16));
  const front = parse(head);
  const back = rest === undefined ? [] : parse(rest);
  const missing = 8 - front.length - back.length;
  if (missing < 0 || (rest === undefined && missing !== 0)) return null;
  return [...front, ...Array<number>(missing).fill(0), ...back];
}

/** The dotted IPv4 address of two 16-bit groups. */
function dottedQuad(high: number, low: number): string {
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/**
 * The IPv4 address an IPv6 address stands for, if it is one of the forms that carry one
 * to an IPv4 host: IPv4-mapped (`::ffff:a.b.c.d`), IPv4-translated (`::ffff:0:a.b.c.d`),
 * IPv4-compatible (`::a.b.c.d`, deprecated), NAT64 (`64:ff9b::a.b.c.d`) and 6to4
 * (`2002:aabb:ccdd::`). Null for any other address.
 */
export function embeddedIpv4(groups: readonly number[]): string | null {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = groups;
  if (g0 === 0x2002) return dottedQuad(g1, g2);
  const zeroTo3 = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0;
  if (zeroTo3 && g4 === 0 && g5 === 0xffff) return dottedQuad(g6, g7); // mapped
  if (zeroTo3 && g4 === 0xffff && g5 === 0) return dottedQuad(g6, g7); // translated
  if (zeroTo3 && g4 === 0 && g5 === 0 && (g6 !== 0 || g7 > 1)) return dottedQuad(g6, g7); // compatible
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) {
    return dottedQuad(g6, g7); // NAT64 well-known prefix
  }
  return null;
}

function classifyIpv4(address: string): AddressClass {
  for (const [kind, list] of IPV4_TABLE) if (list.check(address, 'ipv4')) return kind;
  return 'public';
}

/**
 * The class of an IP address (IPv4 dotted, or IPv6 in any textual form, with or without
 * brackets or zone). An IPv6 address that carries an IPv4 one is the class of that IPv4
 * address: `::ffff:127.0.0.1` is loopback. Throws a TypeError for text that is not an
 * IP address.
 */
export function classifyAddress(text: string): AddressClass {
  const address = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (isIPv4(address)) return classifyIpv4(address);
  const groups = ipv6Groups(address);
  if (groups === null) throw new TypeError('not an IP address');
  const canonical = groups.map((group) => group.toString(16)).join(':');
  // The exact v6 ranges first: fd00:ec2::254 is metadata before any embedded reading.
  for (const [kind, list] of IPV6_TABLE) if (list.check(canonical, 'ipv6')) return kind;
  const ipv4 = embeddedIpv4(groups);
  if (ipv4 !== null) return classifyIpv4(ipv4);
  return GLOBAL_UNICAST.check(canonical, 'ipv6') ? 'public' : 'reserved';
}
