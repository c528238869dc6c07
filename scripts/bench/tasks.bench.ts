/**
 * `npm run bench:tasks`: in one run, on quorum queues and the same no-op work,
 *   (a) raw amqplib: confirmed publishes, manual acks, prefetch 100 — the machine's limit;
 *   (b) Clearline's task layer: confirms, acks-late, every result stored in PostgreSQL;
 *   (c) the stock @nestjs/microservices RMQ transport, request-response, 100 in flight;
 *   (d) BullMQ on Redis, results kept (`removeOnComplete: false`), a worker process with
 *       our worker's concurrency (200), counted like (b) from the first add to the last
 *       completion; its keys live under `clearline-bench-<pid>` and are deleted afterwards;
 *   (e) buffering: BENCH_BACKLOG tasks queued through our TaskClient with no worker
 *       running, then one worker process started: its drain rate and peak RSS;
 * and workflows, the same canvas on Clearline and on Python Celery 5 (Debian's
 * python3-celery, prefork worker with one process per core, the same broker in the same
 * vhost, results in Redis, installed by infra/local/python-celery.sh when missing):
 *   a chord of BENCH_CHORD no-op members (seconds from send to the callback's result),
 *   a chain of BENCH_CHAIN links (milliseconds per link: total time over links);
 * and a Python client (Debian's python3-celery, scripts/bench/celery/send.py: plain
 * `app.send_task('bench.noop', queue=…)` from one thread, our quorum queue named in
 * `task_queues` with `no_declare=True`) sending BENCH_PY_TASKS no-op tasks, after 1,000 to
 * warm up, first to our bench worker, then to a Python Celery prefork worker (one at a
 * time, same vhost): tasks over the seconds from the first send until the last task has
 * completed, which means its result is stored on both sides — our SUCCESS row committed
 * (counted in PostgreSQL), Celery's result written to Redis (counted by a Redis counter
 * the worker increments on `task_success`, which Celery sends after storing the result),
 * both counted from here every 10 ms (`py_to_clearline_per_s`, `py_to_celery_per_s`).
 * Prints tables, then one line of JSON.
 * Options: BENCH_TASKS (default 20000), BENCH_PACED (5000), BENCH_RTT (2000),
 * BENCH_CHORD (10000), BENCH_CHAIN (1000), BENCH_BACKLOG (100000), BENCH_PY_TASKS (20000).
 */
import 'reflect-metadata';
import { CHAIN_LENGTH_MAX, GROUP_SIZE_MAX } from '@clearline/tasks';
import { runBench } from './lib/platform-bench';
import { backlogDrain } from './lib/backlog-drain';
import { benchInfra } from './lib/bench-infra';
import { bullmqTasks } from './lib/bullmq-tasks';
import { clearlineCanvas } from './lib/clearline-canvas';
import { clearlineTasks } from './lib/clearline-tasks';
import { nestRmq } from './lib/nest-rmq';
import { pythonCelery } from './lib/python-celery';
import { pythonClient } from './lib/python-client';
import { rawAmqp } from './lib/raw-amqp';

const COUNT = Number(process.env['BENCH_TASKS'] ?? 20_000);
const PACED = Number(process.env['BENCH_PACED'] ?? 5_000);
const RTT = Number(process.env['BENCH_RTT'] ?? 2_000);
const CHORD = countOf('BENCH_CHORD', 10_000, GROUP_SIZE_MAX);
const CHAIN = countOf('BENCH_CHAIN', 1_000, CHAIN_LENGTH_MAX);
/** A bound on BENCH_BACKLOG: the backlog sits in one quorum queue, in RabbitMQ's memory. */
const BACKLOG_MAX = 1_000_000;
const BACKLOG = countOf('BENCH_BACKLOG', 100_000, BACKLOG_MAX);
/** A bound on BENCH_PY_TASKS: send.py takes at most this many tasks per command. */
const PY_TASKS_MAX = 1_000_000;
const PY_TASKS = countOf('BENCH_PY_TASKS', 20_000, PY_TASKS_MAX);
/** The worker's resident memory should stay under this while it drains a backlog. */
const BACKLOG_RSS_MB_GOAL = 300;

/** A count from the environment; a bad one stops the run before anything starts. */
function countOf(name: string, fallback: number, max: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new Error(`${name} must be an integer from 1 to ${max}`);
  }
  return value;
}

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
    progress('bullmq on redis, results kept');
    const bullmq = await bullmqTasks(COUNT);
    progress(`backlog: ${BACKLOG} tasks queued, then one worker drains them`);
    const backlog = await backlogDrain(infra, BACKLOG);
    progress(`clearline workflows: chord of ${CHORD}, chain of ${CHAIN}`);
    const flows = await clearlineCanvas(infra, CHORD, CHAIN);
    progress(`python celery workflows: chord of ${CHORD}, chain of ${CHAIN}`);
    const celery = await pythonCelery(infra.amqpUrl, CHORD, CHAIN);
    progress(`python client: ${PY_TASKS} tasks to clearline, then to python celery`);
    const py = await pythonClient(infra, PY_TASKS);
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
      'bullmq (redis, results kept)': {
        'tasks/s': bullmq.perS,
      },
    });
    console.table({
      [`backlog of ${BACKLOG}`]: {
        'drain tasks/s': backlog.drainPerS,
        'drain s': backlog.drainS,
        'worker boot s': backlog.bootS,
        'rss MB at ready': backlog.rssMbReady,
        'rss MB max': backlog.rssMbMax,
      },
    });
    console.log(
      `ours/raw throughput ${((100 * ours.throughput.perS) / raw.throughput.perS).toFixed(0)}% (goal >= 40%), ` +
        `ours/nest ${(ours.throughput.perS / nest.throughput.perS).toFixed(2)}x (goal >= 1), ` +
        `p99@1k ours/raw ${(ours.paced.p99Ms / raw.paced.p99Ms).toFixed(2)}x (goal <= 2), rtt p99 ${ours.rttP99Ms} ms (goal < 5), ` +
        `ours/bullmq ${(ours.throughput.perS / bullmq.perS).toFixed(2)}x (goal >= 1), ` +
        `backlog rss max ${backlog.rssMbMax} MB (goal < ${BACKLOG_RSS_MB_GOAL})`,
    );
    console.table({
      'clearline tasks': {
        [`chord of ${CHORD} s`]: flows.chordS,
        'chain ms/link': flows.chainLinkMs,
      },
      'python celery': {
        [`chord of ${CHORD} s`]: celery.chordS,
        'chain ms/link': celery.chainLinkMs,
      },
    });
    console.log(
      `workflows: chord ours/celery ${(flows.chordS / celery.chordS).toFixed(2)}x, ` +
        `chain per link ours/celery ${(flows.chainLinkMs / celery.chainLinkMs).toFixed(2)}x ` +
        `(goal: faster than Celery on both, < 1x)`,
    );
    console.table({
      'python client -> clearline': {
        'tasks/s': py.toClearline.perS,
        's to last completed': py.toClearline.seconds,
        'client sends/s': py.toClearline.sendPerS,
      },
      'python client -> python celery': {
        'tasks/s': py.toCelery.perS,
        's to last completed': py.toCelery.seconds,
        'client sends/s': py.toCelery.sendPerS,
      },
    });
    console.log(
      `python client, ${PY_TASKS} tasks: to clearline ${py.toClearline.perS} tasks/s, ` +
        `to python celery ${py.toCelery.perS} tasks/s, ` +
        `clearline/celery ${(py.toClearline.perS / py.toCelery.perS).toFixed(2)}x ` +
        `(the client sends at most ${Math.max(py.toClearline.sendPerS, py.toCelery.sendPerS)}/s)`,
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
        bullmq_per_s: bullmq.perS,
        backlog_drain_per_s: backlog.drainPerS,
        backlog_rss_mb_max: backlog.rssMbMax,
        chord_10k_s: flows.chordS,
        celery_chord_10k_s: celery.chordS,
        chain_link_ms: flows.chainLinkMs,
        celery_chain_link_ms: celery.chainLinkMs,
        py_to_clearline_per_s: py.toClearline.perS,
        py_to_celery_per_s: py.toCelery.perS,
      }),
    );
  } finally {
    await infra.destroy();
  }
}

runBench(main);
