/**
 * The task layer rides out a broker restart: no task whose `send` was confirmed is
 * lost, sends made while the broker is away are published once it is back (the
 * publisher keeps them and retries), and the worker consumes again by itself.
 *
 * How: a worker app consumes `gateway.count` while its client sends a task every few
 * milliseconds. Once some sends are confirmed, the RabbitMQ application is stopped for
 * real (`rabbitmqctl stop_app`), left stopped for 2 s while the sends go on, and started
 * again; the sends go on until a number of them were made after the restart. So the
 * outage hits the stream of sends however slowly either side runs: some sends are
 * confirmed before it, some made during it. Every send must resolve, those made during
 * the outage only after the restart, every task must end SUCCESS, and a task sent
 * after the recovery must run. The broker is always started again, even when the test
 * fails.
 *
 * This restarts the whole broker: anything else using it at that moment sees it go.
 */
import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { connect } from 'amqplib';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Task } from '@clearline/tasks';
import {
  eventually,
  isolatedInfrastructure,
  sleep,
  startTaskApp,
  type IsolatedInfrastructure,
  type TaskApp,
} from '@clearline/testing';

const SEND_INTERVAL_MS = 10;
/** Sends confirmed before the broker is stopped. */
const SENDS_BEFORE_OUTAGE = 80;
/** Sends made once the broker is being started again; then the producer stops. */
const SENDS_AFTER_RESTART = 50;
/** A bound on the producer, whatever happens to the broker. */
const SENDS_MAX = 5_000;
const OUTAGE_MS = 2_000;
const RABBITMQCTL_TIMEOUT_MS = 60_000;
const BROKER_BACK_TIMEOUT_MS = 60_000;

const run = promisify(execFile);

async function rabbitmqctl(command: 'stop_app' | 'start_app' | 'await_startup'): Promise<void> {
  await run('rabbitmqctl', [command], { timeout: RABBITMQCTL_TIMEOUT_MS });
}

/** Starts the broker application (a no-op if it runs) and waits until it accepts connections. */
async function brokerBack(amqpUrl: string): Promise<void> {
  await rabbitmqctl('start_app');
  await rabbitmqctl('await_startup');
  await eventually(
    async () => {
      try {
        await (await connect(amqpUrl)).close();
        return true;
      } catch {
        return false;
      }
    },
    {
      timeoutMs: BROKER_BACK_TIMEOUT_MS,
      intervalMs: 200,
      what: 'the broker to accept connections',
    },
  );
}

@Controller()
class CountTasks {
  @Task('gateway.count')
  count(@Payload() payload: { n: number }): number {
    return payload.n;
  }
}

/** One `send` and how it went: confirmed (with the task id) or failed. */
interface Sent {
  issuedAtMs: number;
  confirmedAtMs: number | null;
  id: string | null;
  error: string | null;
}

describe('reconnect after a broker restart', () => {
  let infra: IsolatedInfrastructure;
  let worker: TaskApp;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    worker = await startTaskApp({
      infra,
      controllers: [CountTasks],
      tasks: { prefetch: 50, concurrency: 20 },
    });
  });

  afterAll(async () => {
    await brokerBack(infra.amqpUrl);
    await worker.close();
    await infra.destroy();
  });

  const succeeded = async (ids: string[]): Promise<number> => {
    const rows: { count: number }[] = await worker.dataSource.query(
      `SELECT count(*)::int AS count FROM task_results WHERE id = ANY($1) AND state = 'SUCCESS'`,
      [ids],
    );
    return rows[0]?.count ?? 0;
  };

  it('loses no confirmed task, publishes what was sent during the outage, and consumes again', async () => {
    const sent: Sent[] = [];
    const phase = { restarted: false };
    const producing = (async () => {
      let afterRestart = 0;
      for (let n = 0; afterRestart < SENDS_AFTER_RESTART && n < SENDS_MAX; n += 1) {
        if (phase.restarted) afterRestart += 1;
        const entry: Sent = { issuedAtMs: Date.now(), confirmedAtMs: null, id: null, error: null };
        sent.push(entry);
        worker.client.send('gateway.count', { n }).then(
          (handle) => {
            entry.confirmedAtMs = Date.now();
            entry.id = handle.id;
          },
          (error: unknown) => {
            entry.error = error instanceof Error ? `${error.name}: ${error.message}` : 'rejected';
          },
        );
        await sleep(SEND_INTERVAL_MS);
      }
    })();

    await eventually(
      () => sent.filter((s) => s.confirmedAtMs !== null).length >= SENDS_BEFORE_OUTAGE,
      { what: 'sends confirmed before the outage' },
    );
    const outageBeganMs = Date.now();
    let restartBeganMs = Number.POSITIVE_INFINITY;
    try {
      await rabbitmqctl('stop_app');
      // The broker is down now; the producer keeps sending through the outage.
      await sleep(OUTAGE_MS);
    } finally {
      restartBeganMs = Date.now();
      phase.restarted = true;
      await brokerBack(infra.amqpUrl);
    }
    await producing;

    await eventually(() => sent.every((s) => s.confirmedAtMs !== null || s.error !== null), {
      timeoutMs: 30_000,
      what: 'every send to be confirmed or to fail',
    });
    expect(sent.flatMap((s) => (s.error === null ? [] : [s.error]))).toEqual([]);
    // The outage hit the stream: some sends were confirmed before it, and some were
    // made before the restart but could only be confirmed after it (held and retried).
    expect(sent.filter((s) => s.confirmedAtMs! < outageBeganMs).length).toBeGreaterThan(0);
    const heldThrough = sent.filter(
      (s) => s.issuedAtMs < restartBeganMs && s.confirmedAtMs! > restartBeganMs,
    );
    expect(heldThrough.length).toBeGreaterThan(0);

    // None lost: every confirmed task ran, before or after the restart.
    const ids = sent.map((s) => s.id!);
    expect(new Set(ids).size).toBe(sent.length);
    await eventually(async () => (await succeeded(ids)) === sent.length, {
      timeoutMs: 30_000,
      what: `all ${sent.length} tasks to succeed`,
    });

    // And the worker consumes new work.
    const after = await worker.client.send('gateway.count', { n: -1 });
    await expect(after.result()).resolves.toBe(-1);
  }, 120_000);
});
