import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { HttpDrain } from '@clearline/platform';
import { TaskServer } from '@clearline/tasks';
import { Logger } from 'nestjs-pino';
import { AuthGuard } from './auth/auth.guard';
import { GatewayModule, type GatewayModuleOptions } from './gateway.module';
import { GatewayExceptionFilter } from './http/gateway-exception.filter';
import { httpMetrics } from './http/http-metrics';
import { GatewayHttpAdapter } from './http/http-reply';
import { setupOpenApi } from './http/openapi';
import { InputInspectionGuard } from './http/input-inspection';
import { GatewayValidationPipe } from './http/validation.pipe';
import { IdempotencyInterceptor } from './idempotency/idempotency.interceptor';
import { RateLimitGuard } from './rate-limit/rate-limit.guard';

/** The largest JSON body accepted; a larger one answers 413. */
export const BODY_LIMIT = '100kb';

/**
 * The gateway application, ready to listen: HTTP API with its global filter, pipe,
 * guards (authentication, then the rate limit per key, then the input inspection: depth,
 * NUL characters, card numbers) and idempotency, OpenAPI at
 * /docs, and the task worker connected. main.ts and the e2e tests both start it here.
 */
export async function createGatewayApp(
  options: GatewayModuleOptions = {},
): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(
    GatewayModule.forRoot(options),
    new GatewayHttpAdapter(),
    { bufferLogs: true, bodyParser: false },
  );
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  // First: a stopping gateway refuses requests before any route sees them.
  app.use(app.get(HttpDrain).middleware);
  app.use(httpMetrics);
  app.useBodyParser('json', { limit: BODY_LIMIT });
  app.useGlobalFilters(new GatewayExceptionFilter());
  app.useGlobalPipes(new GatewayValidationPipe());
  app.useGlobalGuards(app.get(AuthGuard), app.get(RateLimitGuard), new InputInspectionGuard());
  app.useGlobalInterceptors(app.get(IdempotencyInterceptor));
  setupOpenApi(app);
  // The HTTP enhancers above are not for task handlers: the task layer validates
  // payloads itself and must see handler errors untouched.
  app.connectMicroservice<MicroserviceOptions>(
    { strategy: app.get(TaskServer) },
    { inheritAppConfig: false },
  );
  await app.startAllMicroservices();
  return app;
}
