/**
 * The Clearline worker of the workflow benchmark, in its own process as in production:
 * the same three tasks as the Python Celery app (scripts/bench/celery/clearline_bench.py),
 * on the `bench` queue, every result stored. Prints `ready` when consuming.
 */
import 'reflect-metadata';
import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Task } from '@clearline/tasks';
import { startTaskApp } from '@clearline/testing';
import { BENCH_TASK_OPTIONS } from './bench-queue';
import type { Tally } from './canvas-figures';

@Controller()
class CanvasTasks {
  /** A chord member: returns its argument (its only positional argument). */
  @Task('bench.ident')
  ident(@Payload() x: unknown): unknown {
    return x;
  }

  /** A chain link: its parent's result plus one, so the chain's result counts its links. */
  @Task('bench.inc')
  inc(@Payload() x: unknown): number {
    if (typeof x !== 'number') throw new TypeError(`bench.inc takes a number, got ${typeof x}`);
    return x + 1;
  }

  /** The chord callback: the sum and count of the members' results. */
  @Task('bench.tally')
  tally(@Payload() results: unknown): Tally {
    if (!Array.isArray(results)) throw new TypeError('bench.tally takes the list of results');
    let sum = 0;
    for (const value of results) sum += Number(value);
    return { sum, count: results.length };
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
    controllers: [CanvasTasks],
    // A workflow's follow-ups are outbox rows, committed with the finishing task's
    // result; the worker publishes them right after the commit and the relay is the
    // safety net, so it runs here as it does in a service.
    tasks: { ...BENCH_TASK_OPTIONS, outboxRelay: true },
  });
  process.once('SIGTERM', () => {
    void app.close().then(() => process.exit(0));
  });
  process.stdout.write('ready\n');
}

void main();
