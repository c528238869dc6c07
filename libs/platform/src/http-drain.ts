import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AbstractHttpAdapter, HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { CommonEnvironment } from './environment';

/** `Retry-After` of a refusal while stopping: long enough for a client to pick another replica. */
const RETRY_AFTER_S = 2;

/** The API's error object (the gateway's `errorAnswer` shape) for a request refused while stopping. */
const STOPPING_BODY = JSON.stringify({
  error: {
    type: 'api_error',
    code: 'service_unavailable',
    message: 'The service is shutting down; try again shortly',
    param: null,
  },
});

/**
 * Bounds how long HTTP keeps a stopping service alive. Node's `server.close()` waits for
 * every open connection, and a client that keeps its connection alive and busy (a load
 * balancer, a merchant's pool) would hold the process for ever: seen when a benchmark's
 * load outlived the services it was stopping. So from the first shutdown hook:
 *
 * - a request that arrives is refused at once — 503 `service_unavailable` with
 *   `Retry-After` and `Connection: close` — so its client reconnects to another replica
 *   (Kubernetes has taken this pod out of the Service by then, after the preStop pause);
 * - idle connections are closed, and requests in flight finish (tasks drain meanwhile);
 * - after `HTTP_DRAIN_TIMEOUT_MS`, every connection still open is closed.
 *
 * `middleware` must be the application's first (`app.use`, before the routes).
 */
@Injectable()
export class HttpDrain implements OnModuleDestroy {
  private draining = false;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: ConfigService<CommonEnvironment, true>,
  ) {}

  readonly middleware = (
    _request: IncomingMessage,
    response: ServerResponse,
    next: () => void,
  ): void => {
    if (!this.draining) {
      next();
      return;
    }
    response.shouldKeepAlive = false;
    response.writeHead(503, {
      'Content-Type': 'application/json; charset=utf-8',
      'Retry-After': String(RETRY_AFTER_S),
      Connection: 'close',
    });
    response.end(STOPPING_BODY);
  };

  onModuleDestroy(): void {
    this.draining = true;
    // No adapter in an application context without HTTP (a test's task app), and not
    // listening in an application that never served: nothing to close then.
    const adapter = this.adapterHost.httpAdapter as AbstractHttpAdapter | undefined;
    const server = adapter?.getHttpServer() as Server | undefined;
    if (!server?.listening) return;
    server.closeIdleConnections();
    const timer = setTimeout(
      () => server.closeAllConnections(),
      this.config.get('HTTP_DRAIN_TIMEOUT_MS', { infer: true }),
    );
    timer.unref();
    server.once('close', () => clearTimeout(timer));
  }
}
