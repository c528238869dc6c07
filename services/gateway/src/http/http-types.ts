import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestAuth } from '../auth/request-auth';

/**
 * The parts of Express's request and response the gateway uses (the project does not
 * depend on @types/express). `auth` is set by the auth guard.
 */
export interface GatewayRequest extends IncomingMessage {
  method: string;
  path: string;
  originalUrl: string;
  body: unknown;
  ip?: string;
  auth?: RequestAuth;
  /** The matched Express route, once routing has happened. */
  route?: { path?: unknown };
}

export interface GatewayResponse extends ServerResponse {
  status(code: number): this;
  json(body: unknown): this;
}
