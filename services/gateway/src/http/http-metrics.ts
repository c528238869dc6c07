import { Histogram } from 'prom-client';
import type { GatewayRequest, GatewayResponse } from './http-types';

const requestDuration = new Histogram({
  name: 'clearline_http_request_duration_seconds',
  help: 'HTTP requests of the gateway, by method, route pattern and status',
  labelNames: ['method', 'route', 'status'],
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
});

/**
 * Express middleware: times every request. The route label is the matched pattern
 * (`/v1/events/:id`), never the raw path, so ids cannot explode the label set.
 */
export function httpMetrics(
  request: GatewayRequest,
  response: GatewayResponse,
  next: () => void,
): void {
  const stop = requestDuration.startTimer();
  response.once('finish', () => {
    const pattern = request.route?.path;
    stop({
      method: request.method,
      route: typeof pattern === 'string' ? pattern : 'unmatched',
      status: String(response.statusCode),
    });
  });
  next();
}
