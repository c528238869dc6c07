import { isSpanContextValid, trace } from '@opentelemetry/api';
import {
  Controller,
  Get,
  Module,
  NotFoundException,
  Res,
  type DynamicModule,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { randomUUID } from 'node:crypto';
import { LoggerModule, type Params } from 'nestjs-pino';
import { destination, type DestinationStream } from 'pino';
import { maskCardNumbers } from '@clearline/contracts';
import type { Options as PinoHttpOptions } from 'pino-http';
import { collectDefaultMetrics, register } from 'prom-client';
import { BrokerHealthIndicator } from './broker-health.indicator';
import type { CommonEnvironment, LogFormat } from './environment';
import { HealthController } from './health.controller';
import { HttpDrain } from './http-drain';
import { MetricsServer } from './metrics-server';

/** The one thing the metrics route needs of Express's response. */
interface TypedResponse {
  type(contentType: string): unknown;
}

/** `/metrics` on the HTTP port, unless METRICS_PORT moves it to a port of its own (then 404). */
@Controller('metrics')
export class MetricsController {
  constructor(private readonly server: MetricsServer) {}

  @Get()
  metrics(@Res({ passthrough: true }) response: TypedResponse): Promise<string> {
    if (this.server.separate) throw new NotFoundException('metrics are served on METRICS_PORT');
    response.type(register.contentType);
    return register.metrics();
  }
}

let defaultMetricsStarted = false;

const REQUEST_ID_LENGTH_MAX = 200;

/**
 * The format a service logs in: LOG_FORMAT when set, else readable lines when a
 * developer watches the terminal (NODE_ENV=development and stdout a TTY), else JSON.
 * Outside development it is always JSON, so a test or production process never loads
 * pino-pretty. (`npm start` pipes the services' output, so infra/local/start.sh
 * decides for them and sets LOG_FORMAT.)
 */
export function logFormat(
  env: Pick<CommonEnvironment, 'NODE_ENV' | 'LOG_FORMAT'>,
  stdoutIsTty: boolean,
): LogFormat {
  if (env.NODE_ENV !== 'development') return 'json';
  return env.LOG_FORMAT ?? (stdoutIsTty ? 'pretty' : 'json');
}

/**
 * Readable log lines: the time, the level (in colour when colour is on: a TTY or
 * FORCE_COLOR, unless NO_COLOR), the Nest context, the message (for a finished request
 * its method, URL, status and duration), then any other fields as JSON. The service
 * name is left out: `npm start` prefixes each line with it.
 *
 * pino-pretty is loaded here, only for this format. It writes synchronously in this
 * thread rather than in a transport's worker: a service stopped by a signal would
 * otherwise lose its last lines (what it drained on shutdown) with the worker.
 */
async function prettyStream(): Promise<DestinationStream> {
  const { default: pretty } = await import('pino-pretty');
  return pretty({
    sync: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service,context,req,res,responseTime',
    messageFormat:
      '{if context}{context}: {end}{msg}' +
      '{if responseTime}: {req.method} {req.url} {res.statusCode} in {responseTime} ms{end}',
    singleLine: true,
  });
}

/** The active span's trace and span ids, for a log line (none when nothing is traced). */
export function traceFields(): Record<string, string> {
  const span = trace.getActiveSpan()?.spanContext();
  return span && isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : {};
}

/**
 * Every log line, whatever wrote it (a request's URL with its query, an error's message,
 * a task's payload), with anything that looks like a card number masked before it leaves
 * the process: a merchant who sends a card number by mistake never finds it in our logs.
 */
export function cardMaskingStream(next: DestinationStream): DestinationStream {
  return { write: (line: string) => next.write(maskCardNumbers(line)) };
}

async function loggerParams(
  service: string,
  config: ConfigService<CommonEnvironment, true>,
): Promise<Params> {
  const options: PinoHttpOptions = {
    level: config.get('LOG_LEVEL', { infer: true }),
    base: { service },
    genReqId: (req, res) => {
      const given = req.headers['x-request-id'];
      const id =
        // A client's id is kept unless it is too long or looks like a card number
        // (never echoed nor logged: PCI).
        typeof given === 'string' &&
        given.length <= REQUEST_ID_LENGTH_MAX &&
        maskCardNumbers(given) === given
          ? given
          : `req_${randomUUID()}`;
      res.setHeader('X-Request-Id', id);
      return id;
    },
    autoLogging: {
      ignore: (req) => req.url === '/metrics' || (req.url ?? '').startsWith('/health'),
    },
    redact: ['req.headers.authorization', 'req.headers.cookie'],
    // A line written inside a traced request or task names its trace (OpenTelemetry).
    mixin: traceFields,
  };
  const format = logFormat(
    {
      NODE_ENV: config.get('NODE_ENV', { infer: true }),
      LOG_FORMAT: config.get('LOG_FORMAT', { infer: true }),
    },
    process.stdout.isTTY,
  );
  const stream = format === 'pretty' ? await prettyStream() : destination({ dest: 1, sync: true });
  return { pinoHttp: [options, cardMaskingStream(stream)] };
}

/**
 * Logs with request ids (JSON, or readable lines on a developer's terminal), Prometheus
 * metrics and health probes for one service.
 */
@Module({})
export class ObservabilityModule {
  static forService(service: string): DynamicModule {
    if (!defaultMetricsStarted) {
      register.setDefaultLabels({ service });
      collectDefaultMetrics();
      defaultMetricsStarted = true;
    }
    return {
      module: ObservabilityModule,
      imports: [
        TerminusModule,
        LoggerModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: ConfigService<CommonEnvironment, true>) =>
            loggerParams(service, config),
        }),
      ],
      providers: [BrokerHealthIndicator, MetricsServer, HttpDrain],
      exports: [MetricsServer, HttpDrain],
      controllers: [MetricsController, HealthController],
    };
  }
}
