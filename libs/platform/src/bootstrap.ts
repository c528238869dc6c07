import type { INestApplication } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { TaskServer } from '@clearline/tasks';
import { Logger } from 'nestjs-pino';
import { HttpDrain } from './http-drain';

export interface BootstrapOptions<E> {
  module: new (...args: never[]) => unknown;
  port: (config: ConfigService<E, true>) => number;
  configure?: (app: INestApplication) => void;
}

/** Starts one service: logger, task worker, HTTP (health, metrics, API), graceful shutdown. */
export async function bootstrapService<E>(options: BootstrapOptions<E>): Promise<INestApplication> {
  const app = await NestFactory.create(options.module, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  // After a graceful shutdown (consumers drained, outbox stopped, results flushed) the
  // process exits 0: it stopped because it was asked to, not because it failed.
  app.enableShutdownHooks(undefined, { useProcessExit: true });
  // First: a stopping service refuses requests before any route sees them.
  app.use(app.get(HttpDrain).middleware);
  options.configure?.(app);
  app.connectMicroservice<MicroserviceOptions>(
    { strategy: app.get(TaskServer) },
    { inheritAppConfig: true },
  );
  await app.startAllMicroservices();
  await app.listen(options.port(app.get(ConfigService<E, true>)), '0.0.0.0');
  return app;
}
