/**
 * The real gateway for one e2e test file: its own vhost and database
 * (isolatedInfrastructure), the production app (createGatewayApp) listening on a free
 * port, and small helpers to call it over HTTP with fetch.
 */
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { isolatedInfrastructure, type IsolatedInfrastructure } from '@clearline/testing';
import { createGatewayApp } from '../src/gateway.app';

export interface Reply<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface CallOptions {
  key?: string | null;
  body?: unknown;
  /** Sent as is (malformed JSON, huge bodies). */
  raw?: string;
  headers?: Record<string, string>;
  idempotencyKey?: string;
}

export interface ErrorReply {
  error: { type: string; code: string; message: string; param: string | null };
}

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

export interface GatewayHarness {
  infra: IsolatedInfrastructure;
  app: NestExpressApplication;
  baseUrl: string;
  adminKey: string;
  call<T = unknown>(method: string, path: string, options?: CallOptions): Promise<Reply<T>>;
  createMerchant(body?: Record<string, unknown>): Promise<CreatedMerchant>;
  close(): Promise<void>;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export interface ReplicaOf {
  /** Another gateway whose database, vhost and admin key this one shares (a second replica). */
  replicaOf?: GatewayHarness;
}

export async function startGateway(
  env: Record<string, string> = {},
  { replicaOf }: ReplicaOf = {},
): Promise<GatewayHarness> {
  const infra = replicaOf?.infra ?? (await isolatedInfrastructure());
  const adminKey = replicaOf?.adminKey ?? `sk_admin_test_${randomBytes(12).toString('hex')}`;
  const app = await createGatewayApp({
    env: { ...infra.env, ADMIN_API_KEY: adminKey, ...env },
  });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;

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

  return {
    infra,
    app,
    baseUrl,
    adminKey,
    // The caller names the body type it expects; the harness only parses JSON.
    call: call as GatewayHarness['call'],
    createMerchant,
    close: async () => {
      await app.close();
      if (!replicaOf) await infra.destroy();
    },
  };
}

/** Jest's asymmetric matchers, typed `unknown` so they sit in typed expectations (no `any`). */
export const anyNumber = (): unknown => expect.any(Number);
export const anyString = (): unknown => expect.any(String);
export const matching = (pattern: RegExp): unknown => expect.stringMatching(pattern);
