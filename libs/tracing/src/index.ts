/**
 * OpenTelemetry tracing for a Clearline service process. Import it first in `main.ts`
 * (before anything loads `http`): when an OTLP endpoint is configured it registers a
 * tracer provider (W3C trace context, AsyncLocalStorage context), exports spans in
 * batches over OTLP/HTTP, and instruments `http` — the API's requests become server
 * spans that continue a caller's `traceparent`, and calls out (webhooks, processors)
 * carry it on. The task layer carries the context in every task's headers
 * (`libs/tasks` `task-tracing.ts`), so one payment is one trace across the services.
 *
 * Configured by OpenTelemetry's standard variables: `OTEL_EXPORTER_OTLP_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` turns it on (unset: no provider, no cost);
 * `OTEL_SERVICE_NAME` (default `clearline-<service>`), `OTEL_TRACES_SAMPLER_ARG` (the
 * share of new traces kept, default 1; a caller's sampling decision is followed),
 * `OTEL_BSP_*` for batching, `OTEL_SDK_DISABLED=true` to force it off.
 */
import { basename, dirname, resolve } from 'node:path';
import { diag, DiagConsoleLogger, DiagLogLevel } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-node';

/** Whether this process exports traces, and how to flush them. */
export interface Tracing {
  enabled: boolean;
  /** Sends what is buffered; resolves when done or after its own deadline. */
  flush(): Promise<void>;
}

/** URLs a probe or a scraper calls every few seconds: never a trace of their own. */
const UNTRACED_PATHS = /^\/(health|metrics)(\/|$|\?)/;

function serviceName(env: NodeJS.ProcessEnv): string {
  if (env['OTEL_SERVICE_NAME']) return env['OTEL_SERVICE_NAME'];
  // services/<name>/src/main.ts (or dist/services/<name>/src/main.js)
  const script = resolve(process.argv[1] ?? '');
  return `clearline-${basename(dirname(dirname(script)))}`;
}

function ratio(env: NodeJS.ProcessEnv): number {
  const value = Number(env['OTEL_TRACES_SAMPLER_ARG'] ?? '1');
  return Number.isFinite(value) && value >= 0 && value <= 1 ? value : 1;
}

export function startTracing(env: NodeJS.ProcessEnv = process.env): Tracing {
  const endpoint =
    env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] ?? env['OTEL_EXPORTER_OTLP_ENDPOINT'] ?? '';
  if (endpoint === '' || env['OTEL_SDK_DISABLED'] === 'true') {
    return { enabled: false, flush: () => Promise.resolve() };
  }
  diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.WARN);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName(env) }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio(env)) }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  provider.register();
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.test(request.url ?? ''),
      }),
    ],
  });
  return { enabled: true, flush: () => provider.forceFlush() };
}

/** This process's tracing, started when this module is first imported. */
export const tracing: Tracing = startTracing();
