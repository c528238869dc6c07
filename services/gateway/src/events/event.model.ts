/** What happened to a merchant's object: the API object as it was then (`data.object`). */
export interface Event {
  id: string;
  merchantId: string;
  type: string;
  data: { object: unknown };
  createdAt: Date;
}

/**
 * Why a webhook attempt failed, as the merchant sees it: a generic reason, never the
 * network error's text (that goes to our logs only). The database holds no other value.
 *
 * - `timeout`: no connection within `WEBHOOK_CONNECT_TIMEOUT_MS` (DNS included), or no
 *   answer within `WEBHOOK_TIMEOUT_MS`
 * - `dns_failed`: the host name did not resolve
 * - `connection_failed`: refused, reset or unreachable, or not an HTTP answer
 * - `tls_error`: the TLS handshake failed (certificate, protocol)
 * - `http_status`: the endpoint answered a status other than 2xx or 3xx (`status_code`)
 * - `redirect_refused`: the endpoint answered a redirect (3xx); redirects are not followed
 * - `address_refused`: the host is, or resolved to, an address webhooks may not go to
 *   (loopback, private, link-local, metadata, …)
 * - `url_refused`: the URL is no longer allowed (its scheme, port or credentials)
 */
export const WEBHOOK_ATTEMPT_ERRORS = [
  'timeout',
  'dns_failed',
  'connection_failed',
  'tls_error',
  'http_status',
  'redirect_refused',
  'address_refused',
  'url_refused',
] as const;
export type WebhookAttemptError = (typeof WEBHOOK_ATTEMPT_ERRORS)[number];

/** One attempt to deliver an event to its merchant's webhook URL. */
export interface WebhookAttempt {
  eventId: string;
  /** 1 for the first attempt. */
  attempt: number;
  url: string;
  /** The endpoint's HTTP status; null when none came back. */
  statusCode: number | null;
  /** Why the attempt failed; null when it succeeded. */
  error: WebhookAttemptError | null;
  succeeded: boolean;
  durationMs: number;
  attemptedAt: Date;
}

/** An event with its webhook deliveries so far, oldest first (what the API shows). */
export interface DeliveredEvent extends Event {
  deliveryAttempts: WebhookAttempt[];
}
