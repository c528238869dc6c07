import { ExpressAdapter } from '@nestjs/platform-express';

/**
 * A response whose status is chosen while handling (a replayed idempotent response,
 * `202` for a request that answers before its work is done). Nest sets a route's
 * status before its handler runs, and its adapter applies it again when replying, so a
 * handler cannot otherwise change it; `GatewayHttpAdapter` unwraps this instead.
 */
export class HttpReply {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {}
}

/** Express, plus `HttpReply`: its status and headers win over the route's. */
export class GatewayHttpAdapter extends ExpressAdapter {
  override reply(response: unknown, body: unknown, statusCode?: number): unknown {
    if (!(body instanceof HttpReply)) return super.reply(response, body, statusCode);
    for (const [name, value] of Object.entries(body.headers)) {
      this.setHeader(response, name, value);
    }
    return super.reply(response, body.body, body.status);
  }
}
