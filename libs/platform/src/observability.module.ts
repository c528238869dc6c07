import { Controller, Get, Header, Module, type DynamicModule } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { randomUUID } from 'node:crypto';
import { LoggerModule } from 'nestjs-pino';
import { collectDefaultMetrics, register } from 'prom-client';
import { BrokerHealthIndicator } from './broker-health.indicator';
import type { CommonEnvironment } from './environment';
import { HealthController } from './health.controller';

@Controller('metrics')
export class MetricsController {
  @Get()
  @Header('Content-Type', register.contentType)
  metrics(): Promise<string> {
    return register.metrics();
  }
}

let defaultMetricsStarted = false;

const REQUEST_ID_LENGTH_MAX = 200;

/** JSON logs with request ids, Prometheus metrics and health probes for one service. */
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
          useFactory: (config: ConfigService<CommonEnvironment, true>) => ({
            pinoHttp: {
              level: config.get('LOG_LEVEL', { infer: true }),
              base: { service },
              genReqId: (req, res) => {
                const given = req.headers['x-request-id'];
                const id =
                  typeof given === 'string' && given.length <= REQUEST_ID_LENGTH_MAX
                    ? given
                    : `req_${randomUUID()}`;
                res.setHeader('X-Request-Id', id);
                return id;
              },
              autoLogging: {
                ignore: (req) => req.url === '/metrics' || (req.url ?? '').startsWith('/health'),
              },
              redact: ['req.headers.authorization', 'req.headers.cookie'],
            },
          }),
        }),
      ],
      providers: [BrokerHealthIndicator],
      controllers: [MetricsController, HealthController],
    };
  }
}
