import { Injectable, type ExecutionContext } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import { rateLimitTracker } from '../auth/request-auth';
import { GatewayError, GatewayErrorCode } from '../http/gateway.exception';
import type { GatewayRequest } from '../http/http-types';

/**
 * @nestjs/throttler, counted per API key (the auth guard runs first and names it) and
 * across routes; public routes (health, metrics) are not limited. Over the limit, the
 * answer is the gateway's 429 error with `Retry-After`.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return Promise.resolve(true);
    const request = context.switchToHttp().getRequest<GatewayRequest>();
    return Promise.resolve(request.auth === undefined);
  }

  protected override getTracker(request: Record<string, unknown>): Promise<string> {
    const { auth } = request as unknown as GatewayRequest;
    if (!auth) throw new Error('rate limit checked before authentication');
    return Promise.resolve(rateLimitTracker(auth));
  }

  protected override generateKey(
    _context: ExecutionContext,
    tracker: string,
    name: string,
  ): string {
    return `${name}:${tracker}`;
  }

  protected override throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    throw new GatewayError(
      'Too many requests hit the API too quickly; slow down and retry after the Retry-After delay',
      GatewayErrorCode.RateLimit,
      null,
      Math.max(1, detail.timeToBlockExpire),
    );
  }
}
