/**
 * `npm run bench:tasks`: in one run, on quorum queues and the same no-op work,
 *   (a) raw amqplib: confirmed publishes, manual acks, prefetch 100 — the machine's limit;
 *   (b) Clearline's task layer: confirms, acks-late, every result stored in PostgreSQL;
 *   (c) the stock @nestjs/microservices RMQ transport, request-response, 100 in flight.
 * Prints a table, then one line of JSON.
 * Options: BENCH_TASKS (default 20000), BENCH_PACED (5000), BENCH_RTT (2000).
 */
import 'reflect-metadata';
import { runBench } from './lib/platform-bench';
import { benchInfra } from './lib/bench-infra';
import { clearlineTasks } from './lib/clearline-tasks';
import { nestRmq } from './lib/nest-rmq';
import { rawAmqp } from './lib/raw-amqp';

const COUNT = Number(process.env['BENCH_TASKS'] ?? 20_000);
const PACED = Number(process.env['BENCH_PACED'] ?? 5_000);
const RTT = Number(process.env['BENCH_RTT'] ?? 2_000);

function progress(step: string): void {
  process.stderr.write(`bench:tasks: ${step}…\n`);
}

async function main(): Promise<void> {
  const infra = await benchInfra('tasks');
  try {
    progress('raw amqplib');
    const raw = await rawAmqp(infra.amqpUrl, COUNT, PACED);
    progress('clearline task layer');
    const ours = await clearlineTasks(infra, COUNT, PACED, RTT);
    progress('nest rmq request-response');
    const nest = await nestRmq(infra.amqpUrl, COUNT, PACED);
    console.table({
      'raw amqplib': {
        'tasks/s': raw.throughput.perS,
        'p50 ms @1k/s': raw.paced.p50Ms,
        'p99 ms @1k/s': raw.paced.p99Ms,
      },
      'clearline tasks': {
        'tasks/s': ours.throughput.perS,
        'p50 ms @1k/s': ours.paced.p50Ms,
        'p99 ms @1k/s': ours.paced.p99Ms,
        'rtt p50 ms': ours.rttP50Ms,
        'rtt p99 ms': ours.rttP99Ms,
      },
      'nest rmq req-resp': {
        'tasks/s': nest.throughput.perS,
        'p50 ms @1k/s': nest.paced.p50Ms,
        'p99 ms @1k/s': nest.paced.p99Ms,
      },
    });
    console.log(
      `ours/raw throughput ${((100 * ours.throughput.perS) / raw.throughput.perS).toFixed(0)}% (goal >= 40%), ` +
        `ours/nest ${(ours.throughput.perS / nest.throughput.perS).toFixed(2)}x (goal >= 1), ` +
        `p99@1k ours/raw ${(ours.paced.p99Ms / raw.paced.p99Ms).toFixed(2)}x (goal <= 2), rtt p99 ${ours.rttP99Ms} ms (goal < 5)`,
    );
    console.log(
      JSON.stringify({
        bench: 'tasks',
        tasks_per_s: ours.throughput.perS,
        p50_ms: ours.paced.p50Ms,
        p99_ms: ours.paced.p99Ms,
        p99_ms_at_1k: ours.paced.p99Ms,
        raw_per_s: raw.throughput.perS,
        raw_p99_ms_at_1k: raw.paced.p99Ms,
        rtt_p99_ms: ours.rttP99Ms,
        nest_rmq_per_s: nest.throughput.perS,
      }),
    );
  } finally {
    await infra.destroy();
  }
}

runBench(main);
