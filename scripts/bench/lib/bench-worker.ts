/**
 * The worker side of `bench:tasks`, in its own process as in production: consumes the
 * `bench` queue with a no-op `@Task`, storing every result. Prints `ready` when consuming.
 */
import 'reflect-metadata';
import { Controller } from '@nestjs/common';
import { Task } from '@clearline/tasks';
import { startTaskApp } from '@clearline/testing';
import { BENCH_TASK_OPTIONS } from './bench-queue';

@Controller()
class NoopTasks {
  @Task('bench.noop')
  noop(): boolean {
    return true;
  }
}

async function main(): Promise<void> {
  const env = {
    AMQP_URL: process.env['AMQP_URL'] ?? '',
    DATABASE_URL: process.env['DATABASE_URL'] ?? '',
  };
  const app = await startTaskApp({
    infra: {
      env,
      name: 'bench',
      amqpUrl: env.AMQP_URL,
      databaseUrl: env.DATABASE_URL,
      destroy: () => Promise.resolve(),
    },
    controllers: [NoopTasks],
    tasks: BENCH_TASK_OPTIONS,
  });
  process.once('SIGTERM', () => {
    void app.close().then(() => process.exit(0));
  });
  process.stdout.write('ready\n');
}

void main();
