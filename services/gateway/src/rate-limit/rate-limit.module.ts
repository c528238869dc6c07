import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import {
  ThrottlerModule,
  type ThrottlerModuleOptions,
  type ThrottlerOptions,
} from '@nestjs/throttler';
import { rateLimitRedisFailure, type GatewayEnvironment } from '../gateway.env';
import { AuthFailureLimiter } from './auth-failure-limiter';
import { RateLimitClock } from './rate-limit.clock';
import { RateLimitGuard, requestTracker } from './rate-limit.guard';
import { RedisThrottlerStorage } from './redis-throttler.storage';

/** A key may send this many times its per-second rate within any one second. */
export const BURST_FACTOR = 2;
/** The sustained rate is enforced over windows this long. */
export const SUSTAINED_WINDOW_MS = 10_000;

/**
 * Two windows per key: `burst` (1 s, twice the rate) absorbs short spikes, `sustained`
 * (10 s, ten times the rate) holds the average to `RATE_LIMIT_PER_S`. Blocks last
 * until the window that was exceeded ends.
 */
export function throttlers(ratePerS: number): {
  throttlers: ThrottlerOptions[];
  setHeaders: false;
} {
  return {
    throttlers: [
      { name: 'burst', ttl: 1_000, limit: ratePerS * BURST_FACTOR, blockDuration: 0 },
      {
        name: 'sustained',
        ttl: SUSTAINED_WINDOW_MS,
        limit: (ratePerS * SUSTAINED_WINDOW_MS) / 1_000,
        blockDuration: 0,
      },
    ],
    setHeaders: false,
  };
}

/** One clock per application, so a test can reach it with `app.get(RateLimitClock)`. */
@Module({ providers: [RateLimitClock], exports: [RateLimitClock] })
export class RateLimitClockModule {}

@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      imports: [RateLimitClockModule],
      inject: [ConfigService, RateLimitClock],
      useFactory: (
        config: ConfigService<GatewayEnvironment, true>,
        clock: RateLimitClock,
      ): ThrottlerModuleOptions => {
        const adminKey = config.get('ADMIN_API_KEY', { infer: true });
        return {
          ...throttlers(config.get('RATE_LIMIT_PER_S', { infer: true })),
          getTracker: (request) => requestTracker(request, adminKey),
          storage: new RedisThrottlerStorage({
            url: config.get('REDIS_URL', { infer: true }),
            keyPrefix: config.get('REDIS_KEY_PREFIX', { infer: true }),
            clock,
            whenRedisFails: rateLimitRedisFailure({
              NODE_ENV: config.get('NODE_ENV', { infer: true }),
              RATE_LIMIT_REDIS_FAILURE: config.get('RATE_LIMIT_REDIS_FAILURE', { infer: true }),
            }),
          }),
        };
      },
    }),
  ],
  providers: [RateLimitGuard, AuthFailureLimiter],
  exports: [RateLimitGuard, AuthFailureLimiter],
})
export class RateLimitModule {}
