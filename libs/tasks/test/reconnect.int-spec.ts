/**
 * The task layer rides out losing the broker: no task whose `send` was confirmed is
 * lost, sends made while the broker is away are published once it is back (the
 * publisher keeps them and retries), and the worker consumes again by itself.
 *
 * How: a worker app reaches RabbitMQ through a TCP proxy of the test's own
 * (libs/testing's `tcpProxy`) and consumes `gateway.count` while its client sends a task
 * every few milliseconds. Once some sends are confirmed, the proxy cuts the broker off:
 * every connection is reset and new ones are refused for 2 s, while the sends go on;
 * then it lets them through again, and the sends go on until a number of them were made
 * after that. So the outage hits the stream of sends however slowly either side runs:
 * some sends are confirmed before it, some made during it. Every send must resolve,
 * those made during the outage only after it, every task must end SUCCESS, and a task
 * sent after the recovery must run.
 *
 * The outage is this test's alone: the broker keeps running for every other test and
 * run that shares it (stopping RabbitMQ itself, as this test once did, failed whatever
 * else was running).
 */
import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { connect } from 'amqplib';
import { Task } from '@clearline/tasks';
import {
  eventually,
  isolatedInfrastructure,
  sleep,
  startTaskApp,
  tcpProxy,
  throughProxy,
  type IsolatedInfrastructure,
  type TaskApp,
  type TcpProxy,
} from '@clearline/testing';

const SEND_INTERVAL_MS = 10;
/** Sends confirmed before the broker is cut off. */
const SENDS_BEFORE_OUTAGE = 80;
/** Sends made once the broker is reachable again; then the producer stops. */
const SENDS_AFTER_OUTAGE = 50;
/** A bound on the producer, whatever happens to the broker. */
const SENDS_MAX = 5_000;
const OUTAGE_MS = 2_000;
const BROKER_BACK_TIMEOUT_MS = 60_000;

/** Lets connections through the proxy again and waits until the broker answers through it. */
async function brokerBack(proxy: TcpProxy, amqpUrl: string): Promise<void> {
  proxy.heal();
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

describe('reconnect after losing the broker', () => {
  let infra: IsolatedInfrastructure;
  let proxy: TcpProxy;
  let proxiedUrl: string;
  let worker: TaskApp;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    const broker = new URL(infra.amqpUrl);
    proxy = await tcpProxy({ host: broker.hostname, port: Number(broker.port || 5672) });
    proxiedUrl = throughProxy(infra.amqpUrl, proxy);
    worker = await startTaskApp({
      infra,
      env: { AMQP_URL: proxiedUrl },
      controllers: [CountTasks],
      // Sends made during the outage wait for the broker: give them longer than the
      // outage and the reconnect backoff (deadline-bounded.int-spec.ts covers the deadline).
      tasks: { prefetch: 50, concurrency: 20, confirmTimeoutMs: 60_000 },
    });
  });

  afterAll(async () => {
    await brokerBack(proxy, proxiedUrl);
    await worker.close();
    await proxy.close();
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
    const phase = { back: false };
    const producing = (async () => {
      let afterOutage = 0;
      for (let n = 0; afterOutage < SENDS_AFTER_OUTAGE && n < SENDS_MAX; n += 1) {
        if (phase.back) afterOutage += 1;
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
    let backAtMs = Number.POSITIVE_INFINITY;
    try {
      proxy.cut();
      // The broker is unreachable now; the producer keeps sending through the outage.
      await sleep(OUTAGE_MS);
    } finally {
      backAtMs = Date.now();
      phase.back = true;
      await brokerBack(proxy, proxiedUrl);
    }
    await producing;

    await eventually(() => sent.every((s) => s.confirmedAtMs !== null || s.error !== null), {
      timeoutMs: 30_000,
      what: 'every send to be confirmed or to fail',
    });
    expect(sent.flatMap((s) => (s.error === null ? [] : [s.error]))).toEqual([]);
    // The outage hit the stream: some sends were confirmed before it, and some were
    // made before the broker was back but could only be confirmed after (held and retried).
    expect(sent.filter((s) => s.confirmedAtMs! < outageBeganMs).length).toBeGreaterThan(0);
    const heldThrough = sent.filter((s) => s.issuedAtMs < backAtMs && s.confirmedAtMs! > backAtMs);
    expect(heldThrough.length).toBeGreaterThan(0);

    // None lost: every confirmed task ran, before or after the outage.
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
