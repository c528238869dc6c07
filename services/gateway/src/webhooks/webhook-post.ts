import type { LookupAddress } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction, Socket } from 'node:net';
import type { WebhookAttemptError } from '../events/event.model';
import {
  checkAddress,
  checkResolved,
  checkUrl,
  hostOf,
  systemResolveAll,
  type ResolveAll,
  type TargetRefusal,
  type WebhookTargetPolicy,
} from './webhook-target';
import { LookupTimeoutError, resolveWithin } from './webhook-targets';

/** How long a webhook attempt may take, and its part for the connection. */
export interface WebhookTimeouts {
  /** From the start to a connected socket (DNS lookup included); counts within `timeoutMs`. */
  connectTimeoutMs: number;
  /** From the start to the response's status line and headers; the body is never read. */
  timeoutMs: number;
}

/**
 * How a webhook POST ended: a status, or why there is none. `failure` is what the
 * merchant may see; `detail`, the error's own text, is for our logs only.
 */
export interface PostOutcome {
  statusCode: number | null;
  /** Null for a 2xx. */
  failure: WebhookAttemptError | null;
  detail: string | null;
  durationMs: number;
}

/** The attempt ran out of one of its times; `detail` says which. */
export class WebhookTimeoutError extends Error {
  override readonly name = 'WebhookTimeoutError';
}

/** The target was refused before any connection was made. */
class TargetRefusedError extends Error {
  override readonly name = 'TargetRefusedError';

  constructor(readonly refusal: TargetRefusal) {
    super(refusal.message);
  }
}

const DETAIL_TEXT_MAX = 500;
/** Idle keep-alive sockets per endpoint host: enough for the per-merchant in-flight limit. */
const IDLE_SOCKETS_MAX = 8;
/** getaddrinfo's and c-ares' codes for a name that did not resolve. */
const DNS_ERROR_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'EAI_NODATA',
  'ENODATA',
  'ESERVFAIL',
  'EREFUSED',
  'ENONAME',
]);
/** OpenSSL's certificate verification codes, as Node reports them. */
const CERTIFICATE_CODE = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY|DECRYPT)|HOSTNAME_MISMATCH/;

/**
 * A field of an error, read without `instanceof Error`: errors of Node's own modules may
 * come from another realm (a test runner's sandbox), where that test fails.
 */
function field(error: unknown, name: 'name' | 'message' | 'code'): string {
  if (typeof error !== 'object' || error === null || !(name in error)) return '';
  const value: unknown = (error as Record<string, unknown>)[name];
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

function describe(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error).slice(0, DETAIL_TEXT_MAX);
  const code = field(error, 'code');
  const cause = 'cause' in error ? field(error.cause, 'message') : '';
  const text = `${field(error, 'name') || 'Error'}: ${field(error, 'message')}${code ? ` (${code})` : ''}${cause ? `: ${cause}` : ''}`;
  return text.slice(0, DETAIL_TEXT_MAX);
}

/** The generic reason for an error of a webhook attempt. */
export function failureOf(error: unknown, secure: boolean): WebhookAttemptError {
  if (error instanceof TargetRefusedError) return error.refusal.reason;
  if (error instanceof WebhookTimeoutError) return 'timeout';
  const code = field(error, 'code');
  if (DNS_ERROR_CODES.has(code)) return 'dns_failed';
  const tls =
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_') ||
    CERTIFICATE_CODE.test(code) ||
    (secure && (code === 'EPROTO' || /SSL routines|TLS/i.test(field(error, 'message'))));
  return tls ? 'tls_error' : 'connection_failed';
}

/** The generic reason for an answer: none for a 2xx, else a redirect or another status. */
function failureOfStatus(statusCode: number): WebhookAttemptError | null {
  if (statusCode >= 200 && statusCode < 300) return null;
  return statusCode >= 300 && statusCode < 400 ? 'redirect_refused' : 'http_status';
}

/**
 * A lookup that answers with the address already resolved and checked, whatever it is
 * asked: the connection goes to that address and no second lookup can move it (DNS
 * rebinding). Node asks with `all: true` when it races address families.
 */
function pinnedLookup({ address, family }: LookupAddress): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all === true) {
      (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, [
        { address, family },
      ]);
    } else {
      callback(null, address, family);
    }
  };
}

/**
 * POSTs webhooks to targets the policy allows, with every wait bounded.
 *
 * The target is checked at every attempt, against the address actually connected to:
 * the URL's scheme, credentials, port and host (`checkUrl`); then the host name is
 * resolved once, here, every address it has is checked (`checkResolved`), and the socket
 * connects to the first of them through a lookup pinned to it, while the request keeps
 * the name for its `Host` header and TLS server name (so the certificate is verified
 * for the name). A refused target fails the attempt without a connection.
 *
 * A socket must connect within `connectTimeoutMs` (the lookup included), and the
 * response's headers must arrive within `timeoutMs` of the start; past either, the
 * request is destroyed and the attempt fails with `timeout`. Node's http rather than
 * `fetch`: the global fetch has no connect timeout without an undici `Agent`, which is
 * not a dependency here.
 *
 * Redirects are not followed (a 3xx is a failed attempt, `redirect_refused`, as at
 * Stripe: the signature is for this URL only, and a redirect could lead anywhere), and
 * the response body is discarded unread: only the status counts, and an endpoint that
 * trickles a body must not hold the attempt.
 */
export class WebhookPoster {
  private readonly http: HttpAgent;
  private readonly https: HttpsAgent;

  constructor(
    private readonly timeouts: WebhookTimeouts,
    private readonly policy: WebhookTargetPolicy,
    /** Resolves host names (tests pass their own); the system resolver by default. */
    private readonly resolveAll: ResolveAll = systemResolveAll,
  ) {
    // Keep-alive: the next event for a healthy endpoint skips the TCP and TLS handshakes.
    // A kept socket was connected to an address checked when it was opened.
    this.http = new HttpAgent({ keepAlive: true, maxFreeSockets: IDLE_SOCKETS_MAX });
    this.https = new HttpsAgent({ keepAlive: true, maxFreeSockets: IDLE_SOCKETS_MAX });
  }

  async post(url: string, headers: Record<string, string>, body: string): Promise<PostOutcome> {
    const started = performance.now();
    const elapsedMs = (): number => Math.round(performance.now() - started);
    let secure = false;
    try {
      const target = new URL(url);
      secure = target.protocol === 'https:';
      const address = await this.checkedAddress(target);
      const statusCode = await this.send(target, address, headers, body, started);
      const failure = failureOfStatus(statusCode);
      const detail = failure === null ? null : `HTTP ${statusCode}`;
      return { statusCode, failure, detail, durationMs: elapsedMs() };
    } catch (thrown) {
      const failure = failureOf(thrown, secure);
      return { statusCode: null, failure, detail: describe(thrown), durationMs: elapsedMs() };
    }
  }

  /** Closes the kept-alive sockets (at shutdown). */
  close(): void {
    this.http.destroy();
    this.https.destroy();
  }

  /** The address to connect to, checked; throws `TargetRefusedError` for a refused target. */
  private async checkedAddress(url: URL): Promise<LookupAddress> {
    const refused = (refusal: TargetRefusal | null): void => {
      if (refusal) throw new TargetRefusedError(refusal);
    };
    refused(checkUrl(url, this.policy));
    const host = hostOf(url);
    if ('address' in host) {
      refused(checkAddress(host.address, this.policy));
      return { address: host.address, family: host.address.includes(':') ? 6 : 4 };
    }
    const { connectTimeoutMs } = this.timeouts;
    let addresses: LookupAddress[];
    try {
      addresses = await resolveWithin(this.resolveAll, host.name, connectTimeoutMs);
    } catch (error) {
      if (!(error instanceof LookupTimeoutError)) throw error;
      throw new WebhookTimeoutError(`not connected within ${connectTimeoutMs} ms (DNS lookup)`);
    }
    refused(checkResolved(host.name, addresses, this.policy));
    const [first] = addresses;
    if (!first) throw Object.assign(new Error(`${host.name} has no address`), { code: 'ENODATA' });
    return first;
  }

  private send(
    url: URL,
    address: LookupAddress,
    headers: Record<string, string>,
    body: string,
    startedAt: number,
  ): Promise<number> {
    const { connectTimeoutMs, timeoutMs } = this.timeouts;
    const secure = url.protocol === 'https:';
    const spentMs = performance.now() - startedAt;
    return new Promise<number>((resolve, reject) => {
      const request: ClientRequest = (secure ? httpsRequest : httpRequest)(url, {
        method: 'POST',
        agent: secure ? this.https : this.http,
        headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
        lookup: pinnedLookup(address),
      });
      const fail = (error: Error): void => {
        request.destroy(error);
      };
      const total = setTimeout(
        () => fail(new WebhookTimeoutError(`no response within ${timeoutMs} ms`)),
        Math.max(0, timeoutMs - spentMs),
      );
      let connect: NodeJS.Timeout | undefined;
      request.on('socket', (socket: Socket) => {
        // A kept-alive socket is connected already; only a new one is timed.
        if (!socket.connecting) return;
        connect = setTimeout(
          () => fail(new WebhookTimeoutError(`not connected within ${connectTimeoutMs} ms`)),
          Math.max(0, connectTimeoutMs - (performance.now() - startedAt)),
        );
        socket.once('connect', () => clearTimeout(connect));
      });
      const settle = (): void => {
        clearTimeout(total);
        clearTimeout(connect);
      };
      request.on('response', (response) => {
        settle();
        // Discarded unread; the socket goes back to the pool once the body has passed, or
        // is closed if the body keeps coming past the timeout (nothing waits for it).
        response.resume();
        const drain = setTimeout(() => response.destroy(), timeoutMs).unref();
        response.once('close', () => clearTimeout(drain));
        resolve(response.statusCode ?? 0);
      });
      request.on('error', (error) => {
        settle();
        reject(error);
      });
      request.end(body);
    });
  }
}
