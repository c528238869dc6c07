import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ThrottlerStorage } from '@nestjs/throttler';
import type { AuthKind } from '../auth/auth.decorators';
import type { GatewayEnvironment } from '../gateway.env';
import { RequestError, RequestErrorCode } from '../http/request.exception';
import { SERVICE_UNAVAILABLE_RETRY_AFTER_S } from '../http/api-error';
import {
  addressTracker,
  clientAddress,
  parseTrustProxy,
  type ClientRequest,
  type TrustProxy,
} from './client-address';
import { RateLimitUnavailableError, RedisThrottlerStorage } from './redis-throttler.storage';

/** Failed authentications are counted per address over windows this long. */
export const AUTH_FAILURE_WINDOW_MS = 60_000;
/** An address past its limit is refused for this long (from the failure that crossed it). */
export const AUTH_FAILURE_BLOCK_MS = AUTH_FAILURE_WINDOW_MS;

/** The rate-limit store's name for each kind's count (merchant and admin failures apart). */
const THROTTLER_NAMES: Readonly<Record<AuthKind, string>> = {
  merchant: 'auth-failures',
  operator: 'admin-auth-failures',
};

/** The answer to a request that cannot be limited now (Redis away, policy closed). */
export function rateUnchecked(): RequestError {
  return new RequestError(
    'Rate limits cannot be checked right now; try again shortly',
    RequestErrorCode.RateUnchecked,
    null,
    SERVICE_UNAVAILABLE_RETRY_AFTER_S,
  );
}

function tooManyFailures(blockedForMs: number): RequestError {
  return new RequestError(
    'Too many failed authentications from this address; retry after the Retry-After delay',
    RequestErrorCode.RateLimit,
    null,
    Math.max(1, Math.ceil(blockedForMs / 1_000)),
  );
}

/**
 * Failed authentications per client address, counted in Redis with the per-key rate
 * limit's store (so every replica shares the count): merchant routes and admin routes
 * apart, each with its own limit per minute. Past the limit the address is blocked for a
 * minute and its requests answer 429 `rate_limit` with `Retry-After`; the auth guard
 * asks before any database lookup, so a flood of bad keys costs Redis round trips, not
 * queries. The client address is the socket's peer, or what trusted proxies forward
 * (`TRUST_PROXY`).
 */
@Injectable()
export class AuthFailureLimiter {
  private readonly trust: TrustProxy;
  private readonly limits: Readonly<Record<AuthKind, number>>;

  constructor(
    @Inject(ThrottlerStorage) private readonly storage: RedisThrottlerStorage,
    config: ConfigService<GatewayEnvironment, true>,
  ) {
    const trust = parseTrustProxy(config.get('TRUST_PROXY', { infer: true }));
    if (!trust) throw new Error('TRUST_PROXY: not a valid value'); // the schema refused it already
    this.trust = trust;
    this.limits = {
      merchant: config.get('AUTH_FAILURE_LIMIT_PER_MIN', { infer: true }),
      operator: config.get('ADMIN_AUTH_FAILURE_LIMIT_PER_MIN', { infer: true }),
    };
  }

  /** Throws 429 if the request's address is blocked for failures of this kind. */
  async assertNotBlocked(request: ClientRequest, kind: AuthKind): Promise<void> {
    const blockedForMs = await this.checked(() =>
      this.storage.blockedForMs(this.tracker(request), THROTTLER_NAMES[kind]),
    );
    if (blockedForMs > 0) throw tooManyFailures(blockedForMs);
  }

  /**
   * Counts a failed authentication and says what to answer: `refusal` (the 401) under the
   * limit, 429 past it.
   */
  async failed(request: ClientRequest, kind: AuthKind, refusal: Error): Promise<Error> {
    const record = await this.checked(() =>
      this.storage.increment(
        this.tracker(request),
        AUTH_FAILURE_WINDOW_MS,
        this.limits[kind],
        AUTH_FAILURE_BLOCK_MS,
        THROTTLER_NAMES[kind],
      ),
    );
    return record.isBlocked ? tooManyFailures(record.timeToBlockExpire * 1_000) : refusal;
  }

  private tracker(request: ClientRequest): string {
    return addressTracker(clientAddress(request, this.trust));
  }

  /** Runs a store call; a store that is unavailable under the closed policy answers 503. */
  private async checked<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof RateLimitUnavailableError) throw rateUnchecked();
      throw error;
    }
  }
}
