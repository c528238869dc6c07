import { randomBytes } from 'node:crypto';

/** How long one HTTP call to a service under test may take before the test fails. */
const CALL_TIMEOUT_MS = 60_000;

/** An HTTP answer: status, headers, the body parsed as JSON (or the text), the text. */
export interface Reply<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface CallOptions {
  /** The bearer key: the admin key unless given; null sends none. */
  key?: string | null;
  body?: unknown;
  /** Sent as is (malformed JSON, huge bodies). */
  raw?: string;
  headers?: Record<string, string>;
  idempotencyKey?: string;
}

/** The gateway's error shape. */
export interface ErrorReply {
  error: { type: string; code: string; message: string; param: string | null };
}

/** `POST /v1/admin/merchants`' answer: the only time the key and the secret are shown. */
export interface CreatedMerchant {
  id: string;
  object: 'merchant';
  name: string;
  webhook_url: string | null;
  pricing: { percent_bps: number; fixed: number };
  api_key: string;
  webhook_secret: string;
  created: number;
}

/** A client of the gateway's REST API, for tests. */
export interface ApiClient {
  baseUrl: string;
  adminKey: string;
  call<T = unknown>(method: string, path: string, options?: CallOptions): Promise<Reply<T>>;
  /** A new merchant (a random name unless `body` names one); throws unless 201. */
  createMerchant(body?: Record<string, unknown>): Promise<CreatedMerchant>;
}

/** A fresh operator key for a gateway under test. */
export function testAdminKey(): string {
  return `sk_admin_test_${randomBytes(12).toString('hex')}`;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Calls the gateway at `baseUrl` with fetch, as a merchant or an operator would. */
export function apiClient(baseUrl: string, adminKey: string): ApiClient {
  const call = async (method: string, path: string, options: CallOptions = {}): Promise<Reply> => {
    const key = options.key === undefined ? adminKey : options.key;
    const headers: Record<string, string> = { ...options.headers };
    if (key !== null) headers['authorization'] = `Bearer ${key}`;
    if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
    const payload =
      options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    if (payload !== undefined) headers['content-type'] ??= 'application/json';
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      ...(payload === undefined ? {} : { body: payload }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: parse(text), text };
  };

  const createMerchant = async (body: Record<string, unknown> = {}): Promise<CreatedMerchant> => {
    const reply = await call('POST', '/v1/admin/merchants', {
      body: { name: `merchant ${randomBytes(3).toString('hex')}`, ...body },
    });
    if (reply.status !== 201) throw new Error(`creating a merchant: ${reply.status} ${reply.text}`);
    return reply.body as CreatedMerchant;
  };

  // The caller names the body type it expects; the client only parses JSON.
  return { baseUrl, adminKey, call: call as ApiClient['call'], createMerchant };
}

/** Jest's asymmetric matchers, typed `unknown` so they sit in typed expectations (no `any`). */
export const anyNumber = (): unknown => expect.any(Number);
export const anyString = (): unknown => expect.any(String);
export const matching = (pattern: RegExp): unknown => expect.stringMatching(pattern);
