/**
 * A graceful shutdown waits for tasks in flight at most TASK_DRAIN_TIMEOUT_MS, the limit
 * a pod's terminationGracePeriodSeconds is computed from (infra/k8s): past it the worker
 * closes anyway and the broker redelivers what was still running, so nothing is lost.
 *
 * How: a worker with TASK_DRAIN_TIMEOUT_MS=1000 runs a task held at a gate; its shutdown
 * must end while the task is still held (well before the 15 s default), and the held
 * message must be back in its queue, unacknowledged, for another worker.
 */
import { Controller } from '@nestjs/common';
import { connect, type Channel, type ChannelModel } from 'amqplib';
import { Ctx } from '@nestjs/microservices';
import { Task, TaskContext } from '@clearline/tasks';
import {
  eventually,
  Gate,
  isolatedInfrastructure,
  startTaskApp,
  type IsolatedInfrastructure,
  type TaskApp,
} from '@clearline/testing';

const gate = new Gate();
const started = new Set<string>();

@Controller()
class HeldTasks {
  @Task('gateway.held')
  async held(@Ctx() ctx: TaskContext): Promise<string> {
    started.add(ctx.taskId);
    await gate.opened;
    return 'released';
  }
}

/** Far below the 15 s default drain, far above a 1 s one on a loaded machine. */
const SHUTDOWN_DEADLINE_MS = 10_000;

describe('the drain limit of a graceful shutdown (TASK_DRAIN_TIMEOUT_MS)', () => {
  let infra: IsolatedInfrastructure;
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
    // The held handler is never released: a shut-down worker has nothing to record it with.
    await raw.close();
    await producer.close();
    await infra.destroy();
  });

  it('closes after the limit with a task still running, which goes back to its queue', async () => {
    gate.close();
    const worker = await startTaskApp({
      infra,
      controllers: [HeldTasks],
      env: { TASK_DRAIN_TIMEOUT_MS: '1000' },
    });
    const handle = await producer.client.send('gateway.held', {});
    await eventually(() => started.has(handle.id), { what: 'the held task running' });

    const closed = worker.close().then(() => 'closed' as const);
    const deadline = new Promise<'still draining'>((resolve) =>
      setTimeout(() => resolve('still draining'), SHUTDOWN_DEADLINE_MS).unref(),
    );
    expect(await Promise.race([closed, deadline])).toBe('closed');
    // The task never finished here: its message is back, ready for another worker.
    expect(started.has(handle.id)).toBe(true);
    await eventually(async () => (await channel.checkQueue('gateway')).messageCount === 1, {
      what: 'the held message back in queue gateway',
    });
  });
});
