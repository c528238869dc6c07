/**
 * Celery events cost a busy worker a large share of its CPU; with nobody listening they
 * are waste. Events leave `mandatory`, so the broker returns them while no queue is bound
 * to `celeryev`; after a return the worker stops building task events, except one probe
 * every two seconds, and a monitor that starts listening hears them again within a probe.
 *
 * How: a worker with events on (the default) and no monitor runs a few hundred tasks:
 * far fewer task events than tasks are published and the broker's returns are counted.
 * Then a monitor's queue is bound to `celeryev` (`#`, as Celery's receiver binds) and
 * tasks keep coming until their `task-succeeded` events arrive there.
 */
import { Controller } from '@nestjs/common';
import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { register } from 'prom-client';
import { Task } from '@clearline/tasks';
import {
  eventually,
  isolatedInfrastructure,
  startTaskApp,
  type IsolatedInfrastructure,
  type TaskApp,
} from '@clearline/testing';

const TASKS = 300;

@Controller()
class QuickTasks {
  @Task('gateway.quick')
  quick(): string {
    return 'done';
  }
}

async function counter(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await register.getSingleMetric(name)?.get();
  return (metric?.values ?? [])
    .filter((value) => Object.entries(labels).every(([k, v]) => value.labels[k] === v))
    .reduce((sum, value) => sum + value.value, 0);
}

interface HeardEvent {
  type: string;
  uuid?: string;
}

describe('Celery events with nobody listening', () => {
  let infra: IsolatedInfrastructure;
  let app: TaskApp;
  let raw: ChannelModel;
  let channel: Channel;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    app = await startTaskApp({ infra, controllers: [QuickTasks], env: { TASK_EVENTS: '1' } });
    raw = await connect(infra.amqpUrl);
    channel = await raw.createChannel();
  });

  afterAll(async () => {
    await raw.close();
    await app.close();
    await infra.destroy();
  });

  it('builds few task events while the broker returns them, and all again once a monitor binds', async () => {
    const handles = await Promise.all(
      Array.from({ length: TASKS }, () => app.client.send('gateway.quick', {})),
    );
    await Promise.all(handles.map((handle) => handle.result({ timeoutMs: 30_000 })));
    // Every event of a task that ran here is returned; only probes and the few built
    // before the first return came back were published.
    await eventually(async () => (await counter('clearline_celery_events_unheard_total')) > 0, {
      what: 'the broker returning an event nobody listens to',
    });
    const succeeded = await counter('clearline_celery_events_total', { type: 'task-succeeded' });
    expect(succeeded).toBeLessThan(TASKS / 2);

    // A monitor starts listening, as Celery's receiver does: a queue bound with `#`.
    const heard: HeardEvent[] = [];
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    await channel.bindQueue(queue, 'celeryev', '#');
    await channel.consume(
      queue,
      (message: ConsumeMessage | null) => {
        if (!message) return;
        const body = JSON.parse(message.content.toString('utf8')) as HeardEvent | HeardEvent[];
        heard.push(...(Array.isArray(body) ? body : [body]));
      },
      { noAck: true },
    );
    // Within a probe interval (two seconds) the worker builds events again.
    const found = await eventually(
      async () => {
        const handle = await app.client.send('gateway.quick', {});
        await handle.result({ timeoutMs: 10_000 });
        await new Promise((resolve) => setTimeout(resolve, 50));
        return heard.some((event) => event.type === 'task-succeeded' && event.uuid === handle.id);
      },
      { timeoutMs: 20_000, intervalMs: 100, what: "a task's task-succeeded event heard" },
    );
    expect(found).toBe(true);
  });
});
