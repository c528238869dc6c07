import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import type { WebhookAttemptError } from '../events/event.model';
import { classifyAddress, PRIVATE_ADDRESS_CLASSES, type AddressClass } from './webhook-address';

/** Where webhooks may go (`WEBHOOK_ALLOW_HTTP`, `WEBHOOK_ALLOW_PRIVATE`). */
export interface WebhookTargetPolicy {
  /** `http://` URLs too; otherwise `https://` only. */
  allowHttp: boolean;
  /** Loopback, private, link-local and CGNAT hosts too (development and tests). */
  allowPrivate: boolean;
}

/** Why a URL or an address is refused: the attempt's reason, and a message for people. */
export interface TargetRefusal {
  reason: Extract<WebhookAttemptError, 'url_refused' | 'address_refused'>;
  message: string;
}

/** Resolves a host name to all its addresses (the system resolver, as Node's http uses). */
export type ResolveAll = (hostname: string) => Promise<LookupAddress[]>;

/** The ports a webhook URL may name: the web's two, and any unprivileged one. */
export const WEBHOOK_PORTS_DESCRIPTION = '80, 443 or 1024-65535';
const UNPRIVILEGED_PORT_MIN = 1_024;

/** Names of cloud metadata services (the addresses are in webhook-address.ts). */
const METADATA_NAMES = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);
/**
 * Suffixes of names that are internal by convention or reservation (RFC 6762 mDNS,
 * RFC 8375, ICANN's `.internal`): they never name a merchant's public endpoint.
 */
const INTERNAL_SUFFIXES = ['.local', '.localdomain', '.internal', '.lan', '.corp', '.home.arpa'];

const CLASS_NAMES: Record<Exclude<AddressClass, 'public'>, string> = {
  metadata: 'a cloud metadata',
  unspecified: 'an unspecified',
  loopback: 'a loopback',
  private: 'a private',
  link_local: 'a link-local',
  cgnat: 'a shared (CGNAT)',
  multicast: 'a multicast',
  broadcast: 'a broadcast',
  documentation: 'a documentation',
  reserved: 'a reserved',
};

/** The system resolver, every address of both families, in the resolver's order. */
export const systemResolveAll: ResolveAll = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => {
      if (error) reject(error);
      else resolve(addresses);
    });
  });

function allowed(kind: AddressClass, policy: WebhookTargetPolicy): boolean {
  return kind === 'public' || (policy.allowPrivate && PRIVATE_ADDRESS_CLASSES.includes(kind));
}

/**
 * The class a host name stands for by itself, before any lookup; null for a name whose
 * addresses decide. `localhost` itself is such a name: every resolver answers loopback
 * for it, and that answer is refused like any other; its subdomains are loopback by
 * RFC 6761 even where the system resolver does not know them.
 */
function nameClass(name: string): AddressClass | null {
  const host = name.endsWith('.') ? name.slice(0, -1) : name;
  if (METADATA_NAMES.has(host)) return 'metadata';
  if (host === 'localhost') return null;
  if (host.endsWith('.localhost')) return 'loopback';
  // A single label is completed by the resolver's search domains: an internal name.
  if (!host.includes('.') || INTERNAL_SUFFIXES.some((suffix) => host.endsWith(suffix))) {
    return 'private';
  }
  return null;
}

/** The URL's host without IPv6 brackets: an IP address or a name. */
export function hostOf(url: URL): { address: string } | { name: string } {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return isIP(host) === 0 ? { name: host } : { address: host };
}

/**
 * Refuses an address webhooks may not go to: anything but a public address, or, with
 * `allowPrivate`, a loopback, private, link-local or CGNAT one. `host` names it in the
 * message (the name that resolved to it, or the address itself).
 */
export function checkAddress(
  address: string,
  policy: WebhookTargetPolicy,
  host: string = address,
): TargetRefusal | null {
  const kind = classifyAddress(address);
  if (allowed(kind, policy)) return null;
  const what = host === address ? 'is' : 'resolves to';
  return {
    reason: 'address_refused',
    message: `webhook_url's host ${what} ${CLASS_NAMES[kind as Exclude<AddressClass, 'public'>]} address; webhooks go to public addresses only`,
  };
}

/**
 * Everything about a webhook URL that can be checked without a lookup: the scheme
 * (`https`, or `http` with `allowHttp`), no user name or password (a secret in a URL is
 * shown and logged; webhooks are authenticated by their signature), the port
 * (`WEBHOOK_PORTS_DESCRIPTION`: no mail, SSH or other privileged services), a literal
 * address's class, and names that are internal or metadata services by themselves.
 */
export function checkUrl(url: URL, policy: WebhookTargetPolicy): TargetRefusal | null {
  const refuse = (message: string): TargetRefusal => ({ reason: 'url_refused', message });
  const schemes = policy.allowHttp ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(url.protocol)) {
    return refuse(
      policy.allowHttp
        ? 'webhook_url must be an https:// or http:// URL'
        : 'webhook_url must be an https:// URL',
    );
  }
  if (url.username !== '' || url.password !== '') {
    return refuse(
      'webhook_url must not contain a user name or password; webhooks are authenticated by their Clearline-Signature header',
    );
  }
  const port = url.port === '' ? null : Number(url.port);
  if (port !== null && port !== 80 && port !== 443 && port < UNPRIVILEGED_PORT_MIN) {
    return refuse(`webhook_url's port must be ${WEBHOOK_PORTS_DESCRIPTION}`);
  }
  const host = hostOf(url);
  if ('address' in host) return checkAddress(host.address, policy);
  const kind = nameClass(host.name);
  if (kind === null || allowed(kind, policy)) return null;
  return {
    reason: 'address_refused',
    message:
      kind === 'metadata'
        ? "webhook_url's host is a cloud metadata service"
        : "webhook_url's host is an internal name; webhooks go to public hosts only",
  };
}

/**
 * Checks every address a name resolved to; the first refused one refuses the target,
 * since the connection could be made to any of them.
 */
export function checkResolved(
  name: string,
  addresses: readonly LookupAddress[],
  policy: WebhookTargetPolicy,
): TargetRefusal | null {
  for (const { address } of addresses) {
    const refusal = checkAddress(address, policy, name);
    if (refusal) return refusal;
  }
  return null;
}
