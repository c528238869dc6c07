import { Injectable } from '@nestjs/common';

/**
 * The time rate-limit windows are measured in. It answers null: the Lua script then
 * reads Redis's own clock (TIME), the one clock every gateway replica shares, so no
 * replica's clock skew moves a window. A test replaces `nowMs` (it is a provider:
 * `jest.spyOn(app.get(RateLimitClock), 'nowMs')`) to hold a burst in one window, or to
 * move past a window, however fast or slow the machine runs.
 */
@Injectable()
export class RateLimitClock {
  /** Milliseconds since the epoch, or null for Redis's clock. */
  nowMs(): number | null {
    return null;
  }
}
