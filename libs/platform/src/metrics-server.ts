import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { register } from 'prom-client';
import type { CommonEnvironment } from './environment';

/** A scrape that has not sent its request in this time is cut (Prometheus sends at once). */
const METRICS_REQUEST_TIMEOUT_MS = 10_000;
/** Connections held open between scrapes at most this long. */
const METRICS_KEEP_ALIVE_MS = 30_000;

/** The answer to one request of the metrics listener: the registry on GET /metrics, else 404. */
async function answer(
  method: string | undefined,
  url: string | undefined,
): Promise<{
  status: number;
  contentType: string;
  body: string;
}> {
  const path = (url ?? '').split('?')[0];
  if (path !== '/metrics') return { status: 404, contentType: 'text/plain', body: 'not found\n' };
  if (method !== 'GET' && method !== 'HEAD') {
    return { status: 405, contentType: 'text/plain', body: 'method not allowed\n' };
  }
  return { status: 200, contentType: register.contentType, body: await register.metrics() };
}

/**
 * The metrics listener: with METRICS_PORT set, `/metrics` is served on that port by a
 * small HTTP server of its own (no Nest pipeline, no guards: nothing but the registry),
 * so the platform scrapes a port the public API's Service and Ingress never expose.
 * Unset, it does nothing and `/metrics` stays on the HTTP port. A port already taken
 * fails the boot, as a bad variable does.
 */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  private server: Server | null = null;

  constructor(private readonly config: ConfigService<CommonEnvironment, true>) {}

  /** Whether `/metrics` is served on its own port (and not on the HTTP port). */
  get separate(): boolean {
    return this.config.get('METRICS_PORT', { infer: true }) !== undefined;
  }

  /** The port the listener is bound to; null when it is not running. */
  get port(): number | null {
    const address = this.server?.address() as AddressInfo | null | undefined;
    return address ? address.port : null;
  }

  async onApplicationBootstrap(): Promise<void> {
    const port = this.config.get('METRICS_PORT', { infer: true });
    if (port === undefined) return;
    const server = createServer((request, response) => {
      answer(request.method, request.url).then(
        ({ status, contentType, body }) => {
          response.writeHead(status, { 'Content-Type': contentType });
          response.end(request.method === 'HEAD' ? undefined : body);
        },
        (error: unknown) => {
          this.logger.warn(`metrics not collected: ${String(error)}`);
          response.writeHead(500, { 'Content-Type': 'text/plain' });
          response.end('metrics not collected\n');
        },
      );
    });
    server.requestTimeout = METRICS_REQUEST_TIMEOUT_MS;
    server.keepAliveTimeout = METRICS_KEEP_ALIVE_MS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '0.0.0.0', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.logger.log(`metrics on port ${port} at /metrics`);
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
