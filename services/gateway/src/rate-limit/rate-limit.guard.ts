import { createHash } from 'node:crypto';
import { Injectable, type ExecutionContext } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import type { RequestAuth } from '../auth/request-auth';
import { RequestError, RequestErrorCode } from '../http/request.exception';
import type { GatewayRequest } from '../http/http-types';
import { rateUnchecked } from './auth-failure-limiter';
import { RateLimitUnavailableError } from './redis-throttler.storage';

/**
 * Who a request is counted against: a merchant's API key (a rolled key starts a fresh
 * count), or the operators' key, named by the start of its SHA-256 digest (never by
 * the key): two deployments with different admin keys never share a count, even on
 * one Redis under one prefix, and a new admin key starts a fresh count.
 */
export function rateLimitTracker(auth: RequestAuth, adminKey: string): string {
  if (auth.kind === 'merchant') return `key:${auth.apiKeyId}`;
  return `operator:${createHash('sha256').update(adminKey).digest('hex').slice(0, 16)}`;
}

/** The tracker of the request the auth guard has authenticated (the rate limit runs after it). */
export function requestTracker(request: Record<string, unknown>, adminKey: string): string {
  const { auth } = request as unknown as GatewayRequest;
  if (!auth) throw new Error('rate limit checked before authentication');
  return rateLimitTracker(auth, adminKey);
}

/**
 * @nestjs/throttler, counted per API key (the auth guard runs first and names it, the
 * module's `getTracker` turns it into the tracker) and across routes; public routes
 * (health, metrics) are not limited. Over the limit, the answer is the gateway's 429
 * error with `Retry-After`; when Redis cannot answer and RATE_LIMIT_REDIS_FAILURE is
 * closed, 503 `service_unavailable` with `Retry-After`.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    try {
      return await super.canActivate(context);
    } catch (error) {
      if (error instanceof RateLimitUnavailableError) throw rateUnchecked();
      throw error;
    }
  }

  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return Promise.resolve(true);
    const request = context.switchToHttp().getRequest<GatewayRequest>();
    return Promise.resolve(request.auth === undefined);
  }

  /** The storage names its keys per throttler itself. */
  protected override generateKey(
    _context: ExecutionContext,
    tracker: string,
    _name: string,
  ): string {
    return tracker;
  }

  protected override throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    throw new RequestError(
      'Too many requests hit the API too quickly; slow down and retry after the Retry-After delay',
      RequestErrorCode.RateLimit,
      null,
      Math.max(1, detail.timeToBlockExpire),
    );
  }
}
