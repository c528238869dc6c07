import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { PAYMENT_WAIT_MS_MAX } from '../gateway.env';
import type { GatewayRequest } from './http-types';

/** What the client asked for in its `Prefer` header (RFC 7240); null: the configured default. */
export interface WaitPreference {
  waitMs: number | null;
}

const WAIT = /^wait\s*=\s*"?(\d{1,6})"?$/i;

/**
 * `respond-async` answers at once, unless a `wait=N` (seconds) comes with it: then,
 * as RFC 7240 says, the answer is asynchronous only if the outcome takes longer than N.
 * `wait=N` alone sets the wait. Anything else in the header is ignored, as preferences are.
 */
export function parsePrefer(header: string | undefined): WaitPreference {
  if (header === undefined) return { waitMs: null };
  let respondAsync = false;
  let waitS: number | null = null;
  for (const part of header.split(',')) {
    const preference = (part.split(';')[0] ?? '').trim();
    if (preference.toLowerCase() === 'respond-async') respondAsync = true;
    const wait = WAIT.exec(preference);
    if (wait?.[1] !== undefined) waitS = Number(wait[1]);
  }
  if (waitS !== null) return { waitMs: Math.min(waitS * 1_000, PAYMENT_WAIT_MS_MAX) };
  return { waitMs: respondAsync ? 0 : null };
}

/** The request's `Prefer` header, parsed (`@Prefer() prefer: WaitPreference`). */
export const Prefer = createParamDecorator(
  (_data: unknown, context: ExecutionContext): WaitPreference => {
    const header = context.switchToHttp().getRequest<GatewayRequest>().headers.prefer;
    return parsePrefer(Array.isArray(header) ? header.join(',') : header);
  },
);
