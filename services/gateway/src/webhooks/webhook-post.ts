import { Agent as HttpAgent, request as httpRequest, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction, Socket } from 'node:net';

/** How long a webhook attempt may take, and its part for the connection. */
export interface WebhookTimeouts {
  /** From the start to a connected socket (DNS lookup included); counts within `timeoutMs`. */
  connectTimeoutMs: number;
  /** From the start to the response's status line and headers; the body is never read. */
  timeoutMs: number;
}

/** How a webhook POST ended: a status, or why there is none. */
export interface PostOutcome {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

/** The attempt ran out of one of its times; `error` in the attempt says which. */
export class WebhookTimeoutError extends Error {
  override readonly name = 'WebhookTimeoutError';
}

const ERROR_TEXT_MAX = 500;
/** Idle keep-alive sockets per endpoint host: enough for the per-merchant in-flight limit. */
const IDLE_SOCKETS_MAX = 8;

function describe(error: unknown): string {
  const cause =
    error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  const text = error instanceof Error ? `${error.name}: ${error.message}${cause}` : String(error);
  return text.slice(0, ERROR_TEXT_MAX);
}

/**
 * POSTs webhooks with every wait bounded: a socket must connect within
 * `connectTimeoutMs`, and the response's headers must arrive within `timeoutMs` of the
 * start; past either, the request is destroyed and the attempt fails with
 * `WebhookTimeoutError`. Node's http rather than `fetch`: the global fetch has no connect
 * timeout without an undici `Agent`, which is not a dependency here.
 *
 * Redirects are not followed (a 3xx is a failed attempt, as at Stripe: the signature is
 * for this URL only), and the response body is discarded unread: only the status counts,
 * and an endpoint that trickles a body must not hold the attempt.
 */
export class WebhookPoster {
  private readonly http: HttpAgent;
  private readonly https: HttpsAgent;

  constructor(
    private readonly timeouts: WebhookTimeouts,
    /** Resolves hostnames (tests pass one that never answers); the system resolver if absent. */
    private readonly lookup?: LookupFunction,
  ) {
    // Keep-alive: the next event for a healthy endpoint skips the TCP and TLS handshakes.
    this.http = new HttpAgent({ keepAlive: true, maxFreeSockets: IDLE_SOCKETS_MAX });
    this.https = new HttpsAgent({ keepAlive: true, maxFreeSockets: IDLE_SOCKETS_MAX });
  }

  async post(url: string, headers: Record<string, string>, body: string): Promise<PostOutcome> {
    const started = performance.now();
    try {
      const statusCode = await this.send(new URL(url), headers, body);
      return { statusCode, error: null, durationMs: Math.round(performance.now() - started) };
    } catch (thrown) {
      const durationMs = Math.round(performance.now() - started);
      return { statusCode: null, error: describe(thrown), durationMs };
    }
  }

  /** Closes the kept-alive sockets (at shutdown). */
  close(): void {
    this.http.destroy();
    this.https.destroy();
  }

  private send(url: URL, headers: Record<string, string>, body: string): Promise<number> {
    const { connectTimeoutMs, timeoutMs } = this.timeouts;
    const secure = url.protocol === 'https:';
    return new Promise<number>((resolve, reject) => {
      const request: ClientRequest = (secure ? httpsRequest : httpRequest)(url, {
        method: 'POST',
        agent: secure ? this.https : this.http,
        headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
        ...(this.lookup ? { lookup: this.lookup } : {}),
      });
      const fail = (error: Error): void => {
        request.destroy(error);
      };
      const total = setTimeout(
        () => fail(new WebhookTimeoutError(`no response within ${timeoutMs} ms`)),
        timeoutMs,
      );
      let connect: NodeJS.Timeout | undefined;
      request.on('socket', (socket: Socket) => {
        // A kept-alive socket is connected already; only a new one is timed.
        if (!socket.connecting) return;
        connect = setTimeout(
          () => fail(new WebhookTimeoutError(`not connected within ${connectTimeoutMs} ms`)),
          connectTimeoutMs,
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
