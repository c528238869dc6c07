/**
 * The limits that keep a worker and a queue bounded:
 * - `concurrency` caps how many handlers run at once in a worker, even when the
 *   broker has pushed it more messages (prefetch above the cap);
 * - a graceful shutdown stops consuming, lets the running task finish, record SUCCESS
 *   and be acknowledged before the connection closes, so it is not redelivered;
 * - a message that keeps coming back (a consumer that requeues it, as a crashing one
 *   would) is dead-lettered by the quorum queue's delivery limit, where operators see
 *   it with reason `delivery-limit`.
 *
 * How: handlers that wait at a gate the test opens count how many run at once (the
 * cap is reached and held however fast the machine is); a worker app is closed while
 * its task waits at the gate, which opens half a second after close() began;
 * a raw amqplib consumer nacks one message with requeue until the broker stops
 * delivering it, and `DeadLetterAdmin.list` is asked for it.
 */
import { Controller } from '@nestjs/common';
import { Ctx } from '@nestjs/microservices';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { connect } from 'amqplib';
import { Task, TaskContext } from '@clearline/tasks';
import {
  eventually,
  holdsFor,
  isolatedInfrastructure,
  startTaskApp,
  type IsolatedInfrastructure,
  type TaskApp,
  Gate,
} from '@clearline/testing';

const naps = {
  running: 0,
  runningMax: 0,
  started: new Set<string>(),
  finished: new Map<string, number>(),
};

/** How long after close() begins the running nap is let finish. */
const CLOSE_BEFORE_NAP_ENDS_MS = 500;

/** Where naps wait until the test lets them finish. */
const gate = new Gate();

@Controller()
class NapTasks {
  @Task('gateway.nap')
  async nap(@Ctx() ctx: TaskContext): Promise<string> {
    naps.running += 1;
    naps.runningMax = Math.max(naps.runningMax, naps.running);
    naps.started.add(ctx.taskId);
    await gate.opened;
    naps.running -= 1;
    naps.finished.set(ctx.taskId, (naps.finished.get(ctx.taskId) ?? 0) + 1);
    return 'rested';
  }
}

describe('worker limits', () => {
  let infra: IsolatedInfrastructure;
  // Sends and reads results; consumes nothing (it has no task handlers).
  let producer: TaskApp;
  let raw: ChannelModel;
  let channel: Channel;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    producer = await startTaskApp({ infra });
    raw = await connect(infra.amqpUrl);
    channel = await raw.createChannel();
  });

  afterAll(async () => {
    await raw.close();
    await producer.close();
    await infra.destroy();
  });

  it('runs at most `concurrency` handlers at once although more messages are prefetched', async () => {
    const worker = await startTaskApp({
      infra,
      controllers: [NapTasks],
      tasks: { prefetch: 20, concurrency: 2 },
    });
    try {
      naps.runningMax = 0;
      gate.close();
      const handles = await Promise.all(
        Array.from({ length: 8 }, () => producer.client.send('gateway.nap', {})),
      );
      // Two naps wait at the gate and the worker holds the other six, prefetched.
      await eventually(
        async () => naps.running === 2 && (await channel.checkQueue('gateway')).messageCount === 0,
        { what: 'two naps running and every message delivered' },
      );
      gate.open();
      const results = await Promise.all(handles.map((h) => h.result()));
      expect(results).toEqual(Array.from({ length: 8 }, () => 'rested'));
      expect(naps.runningMax).toBe(2);
    } finally {
      await worker.close();
    }
  });

  it('finishes and acknowledges the running task on a graceful shutdown', async () => {
    gate.close();
    const worker = await startTaskApp({ infra, controllers: [NapTasks] });
    const handle = await producer.client.send('gateway.nap', {});
    await eventually(() => naps.started.has(handle.id), { what: 'the task to start' });

    const closing = worker.close();
    // The nap finishes only a while after close() began: a close() that did not wait for
    // it would be over first. (However slow the machine, a close() that waits passes.)
    expect(naps.finished.get(handle.id)).toBeUndefined();
    setTimeout(() => gate.open(), CLOSE_BEFORE_NAP_ENDS_MS);
    await closing;
    // close() returned only after the handler had finished and its result was written.
    expect(naps.finished.get(handle.id)).toBe(1);
    await expect(handle.state()).resolves.toMatchObject({ state: 'SUCCESS', result: 'rested' });
    // An unacknowledged message would come back to the queue once the broker has dropped
    // the worker's channel; nothing consumes `gateway` now.
    await holdsFor(async () => (await channel.checkQueue('gateway')).messageCount === 0, {
      what: 'no message back in the queue',
    });
    expect(naps.finished.get(handle.id)).toBe(1);
  });

  it('dead-letters a message requeued past the delivery limit, with reason delivery-limit', async () => {
    // Every work queue is declared with x-delivery-limit 5 (WORK_QUEUES).
    const DELIVERY_LIMIT = 5;
    const SAFETY_DELIVERIES_MAX = 4 * DELIVERY_LIMIT;
    const handle = await producer.client.send('gateway.poison', {});
    const deliveryCounts: number[] = [];
    await channel.prefetch(1);
    const { consumerTag } = await channel.consume(
      'gateway',
      (delivery: ConsumeMessage | null) => {
        if (!delivery) return;
        if (delivery.properties.messageId !== handle.id) {
          channel.ack(delivery); // not this test's message
          return;
        }
        deliveryCounts.push(Number(delivery.properties.headers?.['x-delivery-count'] ?? 0));
        // Requeue like a consumer that keeps crashing; give up only if the broker never stops.
        if (deliveryCounts.length >= SAFETY_DELIVERIES_MAX) channel.ack(delivery);
        else channel.nack(delivery, false, true);
      },
      { noAck: false },
    );
    try {
      const letter = await eventually(async () =>
        (await producer.deadLetters.list({ queue: 'gateway' })).find((l) => l.id === handle.id),
      );
      expect(letter).toMatchObject({ reason: 'delivery-limit', task: 'gateway.poison' });
    } finally {
      await channel.cancel(consumerTag);
    }
    // The first delivery and DELIVERY_LIMIT redeliveries, each counted by the broker.
    expect(deliveryCounts).toEqual(Array.from({ length: DELIVERY_LIMIT + 1 }, (_, i) => i));
    expect((await channel.checkQueue('gateway')).messageCount).toBe(0);
  });
});
