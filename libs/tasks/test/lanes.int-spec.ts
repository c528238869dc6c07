/**
 * Lanes and prompt acknowledgements: a slow task never holds another's ack, prefetch
 * slot or handler slot.
 *
 * - A worker with prefetch 2 runs one task held at a gate and finishes another: the
 *   finished one is acknowledged at once (the broker shows one unacknowledged message,
 *   not two), so a third message is delivered and runs while the first is still held.
 * - Webhook deliveries (`gateway.deliver_webhook`, routed to `gateway.webhooks` by the
 *   work queues) fill the webhooks lane's concurrency at a gate; real-time tasks on
 *   `gateway` still run at once, in their own handler pool, while a further webhook
 *   waits for its lane.
 * - `TASK_LANES=webhooks` makes a process consume only the webhook queue, `none` no
 *   queue at all while it still publishes; each lane's consumer shows its lane in its
 *   consumer tag and its lane's prefetch in the management API, and `inspect stats`
 *   reports the lane's prefetch and concurrency.
 *
 * How: real RabbitMQ and PostgreSQL (an isolated vhost and database); consumers and
 * unacknowledged counts read from `checkQueue` and the management HTTP API, waited for
 * with deadlines, never timed.
 */
import { Controller } from '@nestjs/common';
import { Ctx } from '@nestjs/microservices';
import type { Channel, ChannelModel } from 'amqplib';
import { connect } from 'amqplib';
import { register } from 'prom-client';
import { Task, TaskContext, TaskControl } from '@clearline/tasks';
import {
  eventually,
  Gate,
  holdsFor,
  isolatedInfrastructure,
  startTaskApp,
  managementGet,
  type IsolatedInfrastructure,
  type TaskApp,
} from '@clearline/testing';

const WEBHOOK_TASK = 'gateway.deliver_webhook';

const seen = { started: new Set<string>(), webhooksStarted: new Set<string>() };
/** Where held tasks and webhook deliveries wait until the test opens it. */
const gate = new Gate();

@Controller()
class LaneTasks {
  @Task('gateway.held')
  async held(@Ctx() ctx: TaskContext): Promise<string> {
    seen.started.add(ctx.taskId);
    await gate.opened;
    return 'released';
  }

  @Task('gateway.quick')
  quick(): string {
    return 'done';
  }

  @Task(WEBHOOK_TASK)
  async deliver(@Ctx() ctx: TaskContext): Promise<string> {
    seen.webhooksStarted.add(ctx.taskId);
    await gate.opened;
    return 'delivered';
  }
}

/** A lane gauge of this process's registry (summed over its workers), as a scrape reads it. */
async function laneGauge(name: string, lane: string): Promise<number | undefined> {
  const metric = await register.getSingleMetric(name)?.get();
  return metric?.values.find((value) => value.labels['lane'] === lane)?.value;
}

interface ManagementConsumer {
  consumer_tag: string;
  prefetch_count: number;
  queue: { name: string };
}

describe('lanes and prompt acknowledgements', () => {
  let infra: IsolatedInfrastructure;
  let producer: TaskApp;
  let raw: ChannelModel;
  let channel: Channel;
  const vhost = (): string => encodeURIComponent(infra.name);
  const consumers = async (queue: string): Promise<number> =>
    (await channel.checkQueue(queue)).consumerCount;
  const ready = async (queue: string): Promise<number> =>
    (await channel.checkQueue(queue)).messageCount;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    // Publishes and reads results; consumes nothing (it has no task handlers).
    producer = await startTaskApp({ infra });
    raw = await connect(infra.amqpUrl);
    channel = await raw.createChannel();
  });

  afterAll(async () => {
    gate.open();
    await raw.close();
    await producer.close();
    await infra.destroy();
  });

  it('acknowledges a finished task while an earlier one is held, so prefetch 2 still lets a third run', async () => {
    gate.close();
    const worker = await startTaskApp({
      infra,
      controllers: [LaneTasks],
      tasks: { prefetch: 2, concurrency: 2 },
    });
    try {
      const held = await producer.client.send('gateway.held', {});
      await eventually(() => seen.started.has(held.id), { what: 'the held task running' });
      const second = await producer.client.send('gateway.quick', {});
      await expect(second.result()).resolves.toBe('done');
      // The held delivery heads the channel: the finished one behind it must not wait for it.
      const third = await producer.client.send('gateway.quick', {});
      await expect(third.result()).resolves.toBe('done');
      expect((await held.state())?.state).not.toBe('SUCCESS');
      await eventually(
        async () =>
          (await managementGet<{ messages_unacknowledged?: number }>(`/queues/${vhost()}/gateway`))
            .messages_unacknowledged === 1,
        { what: 'one unacknowledged message on gateway (the held one)' },
      );
      gate.open();
      await expect(held.result()).resolves.toBe('released');
    } finally {
      gate.open();
      await worker.close();
    }
  });

  it('runs real-time tasks at once while webhook deliveries fill their own lane', async () => {
    gate.close();
    const worker = await startTaskApp({
      infra,
      controllers: [LaneTasks],
      // Shared slots would be 2 and all taken by the webhooks; the lanes keep their own.
      env: {
        TASK_CONCURRENCY: '2',
        TASK_PREFETCH_WEBHOOKS: '4',
        TASK_CONCURRENCY_WEBHOOKS: '2',
      },
    });
    try {
      const webhooks = await Promise.all(
        [1, 2].map(() => producer.client.send(WEBHOOK_TASK, { n: 1 })),
      );
      await eventually(() => webhooks.every((w) => seen.webhooksStarted.has(w.id)), {
        what: 'two webhook deliveries running (the lane full)',
      });
      const waiting = await producer.client.send(WEBHOOK_TASK, { n: 3 });
      const quick = await Promise.all(
        [1, 2, 3, 4, 5].map(() => producer.client.send('gateway.quick', {})),
      );
      await expect(Promise.all(quick.map((q) => q.result()))).resolves.toEqual(
        Array(5).fill('done'),
      );
      // The third webhook was delivered (prefetch 4) but waits for a webhooks slot.
      await holdsFor(() => !seen.webhooksStarted.has(waiting.id), {
        what: 'the third webhook waiting for its lane',
      });
      expect(await ready('gateway.webhooks')).toBe(0);
      // What an operator's dashboard shows: the webhook lane saturated, the other idle.
      expect(await laneGauge('clearline_task_lane_handlers_busy', 'webhooks')).toBe(2);
      expect(await laneGauge('clearline_task_lane_handlers_max', 'webhooks')).toBe(2);
      expect(await laneGauge('clearline_task_lane_deliveries_waiting', 'webhooks')).toBe(1);
      expect(await laneGauge('clearline_task_lane_handlers_busy', 'realtime')).toBe(0);
      expect(await laneGauge('clearline_task_lane_handlers_max', 'realtime')).toBe(2);
      gate.open();
      await expect(waiting.result()).resolves.toBe('delivered');
      await expect(Promise.all(webhooks.map((w) => w.result()))).resolves.toEqual([
        'delivered',
        'delivered',
      ]);
    } finally {
      gate.open();
      await worker.close();
    }
  });

  it('consumes only the lanes TASK_LANES names, shows each lane and its prefetch to operators', async () => {
    const webhooksOnly = await startTaskApp({
      infra,
      service: 'lanes-test',
      controllers: [LaneTasks],
      env: { TASK_LANES: 'webhooks', TASK_PREFETCH_WEBHOOKS: '7' },
    });
    const publisherOnly = await startTaskApp({
      infra,
      controllers: [LaneTasks],
      env: { TASK_LANES: 'none' },
    });
    try {
      expect(await consumers('gateway.webhooks')).toBe(1);
      expect(await consumers('gateway')).toBe(0);
      const delivered = await webhooksOnly.client.send(WEBHOOK_TASK, { n: 1 });
      await expect(delivered.result()).resolves.toBe('delivered');
      // Nobody consumes the realtime lane; a process that consumes nothing still publishes.
      await publisherOnly.client.send('gateway.quick', {});
      await eventually(async () => (await ready('gateway')) === 1, {
        what: 'the real-time task left in its queue',
      });
      // The management API's consumer list is refreshed with its statistics: wait for it.
      const listed = await eventually(
        async () => {
          const all = await managementGet<ManagementConsumer[]>(`/consumers/${vhost()}`);
          const work = all.filter((c) => c.queue.name.startsWith('gateway'));
          return work.length === 1 ? work : undefined;
        },
        { what: 'one work-queue consumer in the management API' },
      );
      expect(listed[0]).toMatchObject({ prefetch_count: 7, queue: { name: 'gateway.webhooks' } });
      // `inspect stats` reports each consumed lane's window and pool.
      const control = webhooksOnly.app.get(TaskControl);
      await eventually(
        async () =>
          (await control.inspect('stats', { timeoutMs: 1_000 })).some(
            ({ reply }) =>
              reply.queues.join() === 'gateway.webhooks' &&
              reply.lanes['webhooks']?.prefetch === 7 &&
              reply.lanes['webhooks'].concurrency === 64 &&
              Object.keys(reply.lanes).join() === 'webhooks',
          ),
        { what: 'inspect stats naming the webhooks lane, prefetch 7, concurrency 64' },
      );
      expect(listed[0]?.consumer_tag).toMatch(
        /^clearline\.lanes-test\.webhooks\.gateway\.webhooks\./,
      );
    } finally {
      await webhooksOnly.close();
      await publisherOnly.close();
    }
  });
});
