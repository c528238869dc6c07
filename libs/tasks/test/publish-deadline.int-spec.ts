/**
 * While the broker is away, a publish waits at most its deadline and the publisher's
 * in-memory backlog never holds more than its cap: sends beyond it are refused at once
 * with BrokerUnavailableError, the ones held end with BrokerUnavailableError when their
 * deadline passes (never sent). Once the broker is back, sends are confirmed and run.
 *
 * How: a task app reaches RabbitMQ through a TCP proxy of this test's own (libs/testing's
 * `tcpProxy`) with `confirmTimeoutMs` 1 s and `publishBacklogCountMax` 20. The proxy cuts
 * the broker off; once the app knows it is disconnected, 100 sends are made at once while
 * the backlog gauge (`clearline_publish_backlog_messages`, the process's registry) is
 * sampled until every send has settled. Then the proxy lets connections through again.
 */
import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { connect } from 'amqplib';
import { register } from 'prom-client';
import { BrokerUnavailableError, Task } from '@clearline/tasks';
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

const CONFIRM_TIMEOUT_MS = 1_000;
const BACKLOG_COUNT_MAX = 20;
const SENDS = 100;
/** Every send must have settled by then: a hang (no deadline) fails here. */
const SETTLED_TIMEOUT_MS = 30_000;

@Controller()
class EchoTasks {
  @Task('gateway.echo')
  echo(@Payload() payload: { n: number }): number {
    return payload.n;
  }
}

async function backlogGauge(): Promise<number> {
  const metric = await register.getSingleMetric('clearline_publish_backlog_messages')?.get();
  return metric?.values[0]?.value ?? 0;
}

describe('publish deadline and backlog cap while the broker is away', () => {
  let infra: IsolatedInfrastructure;
  let proxy: TcpProxy;
  let proxiedUrl: string;
  let app: TaskApp;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    const broker = new URL(infra.amqpUrl);
    proxy = await tcpProxy({ host: broker.hostname, port: Number(broker.port || 5672) });
    proxiedUrl = throughProxy(infra.amqpUrl, proxy);
    app = await startTaskApp({
      infra,
      env: { AMQP_URL: proxiedUrl },
      controllers: [EchoTasks],
      tasks: { confirmTimeoutMs: CONFIRM_TIMEOUT_MS, publishBacklogCountMax: BACKLOG_COUNT_MAX },
    });
  });

  afterAll(async () => {
    proxy.heal();
    await app.close();
    await proxy.close();
    await infra.destroy();
  });

  it('refuses what does not fit, ends what waited by its deadline, and recovers', async () => {
    await expect((await app.client.send('gateway.echo', { n: 0 })).result()).resolves.toBe(0);
    proxy.cut();
    await eventually(() => !app.client.brokerStatus().connected, {
      what: 'the publisher to notice the broker is gone',
    });

    const outcomes: (string | null)[] = new Array<string | null>(SENDS).fill(null);
    const sends = Array.from({ length: SENDS }, (_v, n) =>
      app.client.send('gateway.echo', { n }).then(
        () => {
          outcomes[n] = 'confirmed';
        },
        (error: unknown) => {
          outcomes[n] =
            error instanceof BrokerUnavailableError
              ? `unavailable${error.outcomeUnknown ? ' (unknown)' : ''}`
              : String(error);
        },
      ),
    );
    let backlogMax = 0;
    let allSettled = false;
    void Promise.all(sends).then(() => (allSettled = true));
    await eventually(
      async () => {
        backlogMax = Math.max(backlogMax, await backlogGauge());
        return allSettled;
      },
      { timeoutMs: SETTLED_TIMEOUT_MS, intervalMs: 5, what: 'every send to settle' },
    );

    // The cap held; the sends beyond it were refused, the held ones ended unsent.
    expect(backlogMax).toBe(BACKLOG_COUNT_MAX);
    expect(outcomes.every((o) => o === 'unavailable')).toBe(true);
    expect(await backlogGauge()).toBe(0);
    expect(app.client.brokerStatus().unconfirmed).toBe(0);

    proxy.heal();
    await eventually(
      async () => {
        try {
          await (await connect(proxiedUrl)).close();
          return app.client.brokerStatus().connected;
        } catch {
          return false;
        }
      },
      { timeoutMs: 60_000, intervalMs: 200, what: 'the publisher to reconnect' },
    );
    // A send made now is confirmed and runs; a short pause lets the consumer come back too.
    await sleep(100);
    await expect((await app.client.send('gateway.echo', { n: 7 })).result()).resolves.toBe(7);
  }, 120_000);
});
