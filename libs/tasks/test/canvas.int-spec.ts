/**
 * Workflows (canvas) on a real RabbitMQ and PostgreSQL, through the public API only:
 * a chain passes each result to the next task (an immutable `si` step ignores it); a
 * failure stops the chain, is recorded on the failing task and runs its `link_error`;
 * a group's results come back in member order whatever order the members finish in; a
 * chord's callback receives them in that order; `link` / `link_error` run on any task;
 * and tasks sent by a running handler (by `send` or `apply`) become its children, so
 * `ResultStore.tree` reads the whole workflow as one tree.
 *
 * The handlers record what they receive in memory; the results are awaited through
 * the handles, the callbacks' effects with `eventually`.
 */
import { randomUUID } from 'node:crypto';
import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import {
  chain,
  chord,
  enqueueWorkflow,
  group,
  si,
  signature,
  Task,
  TaskClient,
  TaskContext,
  TaskFailedError,
  type WorkflowNode,
} from '@clearline/tasks';
import {
  eventually,
  isolatedInfrastructure,
  startTaskApp,
  type IsolatedInfrastructure,
  type TaskApp,
} from '@clearline/testing';

interface Recorded {
  taskId: string;
  parentId: string | null;
  payload: unknown;
}

const recorded: Recorded[] = [];

@Controller()
class CanvasTasks {
  constructor(private readonly client: TaskClient) {}

  @Task('gateway.add_one')
  addOne(@Payload() n: number): number {
    return n + 1;
  }

  /** Returns its index after a delay that makes later members finish first. */
  /** Transactional: its workflow's next steps commit in its own transaction. */
  @Task('gateway.tx_add_one', { transactional: true })
  txAddOne(@Payload() n: number): number {
    return n + 1;
  }

  @Task('gateway.late')
  async late(@Payload() i: number): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, (10 - (i % 10)) * 15));
    return i;
  }

  @Task('gateway.collect')
  collect(@Payload() results: unknown): unknown {
    return results;
  }

  @Task('gateway.fail')
  fail(): never {
    throw new Error('chain link broke');
  }

  @Task('gateway.record')
  record(@Payload() payload: unknown, @Ctx() ctx: TaskContext): string {
    recorded.push({ taskId: ctx.taskId, parentId: ctx.message.parentId, payload });
    return 'recorded';
  }

  /** Sends a task and a chain while it runs: both must become its children. */
  @Task('gateway.spawn')
  async spawn(@Payload() n: number): Promise<string[]> {
    const sent = await this.client.send('gateway.add_one', {}, { args: [n] });
    const applied = await this.client.apply(
      chain(signature('gateway.add_one', {}, { args: [n] }), signature('gateway.add_one')),
    );
    return [sent.id, applied.id];
  }
}

const recordedFor = (taskId: string): Promise<Recorded> =>
  eventually(() => recorded.find((r) => r.taskId === taskId), { what: `task ${taskId} to run` });

describe('workflows (canvas)', () => {
  let infra: IsolatedInfrastructure;
  let app: TaskApp;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    app = await startTaskApp({
      infra,
      controllers: [CanvasTasks],
      tasks: { prefetch: 50, concurrency: 20 },
    });
  });

  afterAll(async () => {
    await app.close();
    await infra.destroy();
  });

  it('passes each result of a chain to the next task', async () => {
    const handle = await app.client.apply(
      chain(
        signature('gateway.add_one', {}, { args: [1] }),
        signature('gateway.add_one'),
        signature('gateway.add_one'),
      ),
    );
    await expect(handle.result()).resolves.toBe(4);
  });

  it('gives an immutable step its own arguments only', async () => {
    const handle = await app.client.apply(
      chain(
        signature('gateway.add_one', {}, { args: [1] }),
        si('gateway.add_one', {}, { args: [10] }),
        signature('gateway.add_one'),
      ),
    );
    await expect(handle.result()).resolves.toBe(12);
  });

  it('stops a chain at a failure, records it on the failing task and runs its errback', async () => {
    const [failingId, afterId, errbackId] = [randomUUID(), randomUUID(), randomUUID()];
    const handle = await app.client.apply(
      chain(
        signature('gateway.add_one', {}, { args: [1] }),
        signature(
          'gateway.fail',
          {},
          { id: failingId, linkError: signature('gateway.record', {}, { id: errbackId }) },
        ),
        signature('gateway.add_one', {}, { id: afterId }),
      ),
    );
    expect(handle.id).toBe(afterId);
    const failing = await app.client.handle(failingId).settled();
    expect(failing).toMatchObject({ state: 'FAILURE', errorMessage: 'chain link broke' });
    // The errback gets the failed task's id, and is its child.
    await expect(recordedFor(errbackId)).resolves.toEqual({
      taskId: errbackId,
      parentId: failingId,
      payload: failingId,
    });
    // The chain stopped: the step after the failure was never sent.
    expect(await app.client.handle(afterId).state()).toBeNull();
  });

  it('returns a group’s results in member order, however the members finish', async () => {
    const members = Array.from({ length: 20 }, (_, i) =>
      signature('gateway.late', {}, { args: [i] }),
    );
    const handle = await app.client.apply(group(members));
    expect(handle.ids).toHaveLength(20);
    await expect(handle.results()).resolves.toEqual(members.map((_, i) => i));
    const records = await app.store.getMany(handle.ids);
    expect(new Set(records.map((r) => r.groupId))).toEqual(new Set([handle.id]));
  });

  it('runs a chord callback once with the members’ results in order', async () => {
    const groupId = randomUUID();
    const members = Array.from({ length: 30 }, (_, i) =>
      signature('gateway.late', {}, { args: [i] }),
    );
    const handle = await app.client.apply(
      chord(group(members, { id: groupId }), signature('gateway.collect')),
    );
    await expect(handle.result()).resolves.toEqual(members.map((_, i) => i));
    const rows: { size: number; done: number; state: string }[] = await app.dataSource.query(
      `SELECT size, done, state FROM task_chords WHERE id = $1`,
      [groupId],
    );
    expect(rows[0]).toEqual({ size: 30, done: 30, state: 'fired' });
  });

  it('runs link callbacks with the result, and link_error callbacks with the failed id', async () => {
    const [linkId, errbackId, failingId] = [randomUUID(), randomUUID(), randomUUID()];
    const ok = await app.client.apply(
      signature(
        'gateway.add_one',
        {},
        { args: [5], link: signature('gateway.record', {}, { id: linkId }) },
      ),
    );
    await expect(ok.result()).resolves.toBe(6);
    await expect(recordedFor(linkId)).resolves.toEqual({
      taskId: linkId,
      parentId: ok.id,
      payload: 6,
    });

    const failing = await app.client.apply(
      signature(
        'gateway.fail',
        {},
        {
          id: failingId,
          link: signature('gateway.record'),
          linkError: signature('gateway.record', {}, { id: errbackId }),
        },
      ),
    );
    await expect(failing.result()).rejects.toBeInstanceOf(TaskFailedError);
    await expect(recordedFor(errbackId)).resolves.toMatchObject({ payload: failingId });
    // The success callback of a failed task never runs.
    expect(recorded.filter((r) => r.parentId === failingId)).toHaveLength(1);
  });

  it('continues a workflow from transactional tasks, and from the transactional outbox', async () => {
    const chained = await app.client.apply(
      chain(
        signature('gateway.tx_add_one', {}, { args: [1] }),
        signature('gateway.tx_add_one'),
        signature('gateway.add_one'),
      ),
    );
    await expect(chained.result()).resolves.toBe(4);

    // Enqueued in a transaction: nothing starts unless it commits.
    const members = Array.from({ length: 12 }, (_, i) =>
      signature('gateway.tx_add_one', {}, { args: [i] }),
    );
    const { callbackId, groupIds } = await app.dataSource.transaction(async (manager) => ({
      callbackId: await enqueueWorkflow(manager, chord(members, signature('gateway.collect'))),
      groupIds: await enqueueWorkflow(manager, group(members)),
    }));
    const expected = members.map((_, i) => i + 1);
    await expect(app.client.handle(callbackId).result()).resolves.toEqual(expected);
    await expect(app.client.groupHandle(groupIds).results()).resolves.toEqual(expected);
  });

  it('makes the tasks a handler sends its children, and reads the workflow as one tree', async () => {
    const rootId = randomUUID();
    const spawnId = randomUUID();
    const handle = await app.client.apply(
      chain(
        signature('gateway.add_one', {}, { id: rootId, args: [1] }),
        signature('gateway.spawn', {}, { id: spawnId }),
      ),
    );
    const [sentId = '', chainLastId = ''] = (await handle.result()) as string[];
    await expect(app.client.handle(sentId).result()).resolves.toBe(3);
    await expect(app.client.handle(chainLastId).result()).resolves.toBe(4);

    const tree = await app.store.tree(rootId);
    const shape = (node: WorkflowNode): unknown => ({
      task: node.task,
      state: node.state,
      children: node.children
        .map(shape)
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    });
    expect(tree.truncated).toBe(false);
    expect(tree.count).toBe(5);
    expect(tree.nodes.map(shape)).toEqual([
      {
        task: 'gateway.add_one',
        state: 'SUCCESS',
        children: [
          {
            task: 'gateway.spawn',
            state: 'SUCCESS',
            // The task it sent, and the chain it applied (whose second step is a child of the first).
            children: [
              { task: 'gateway.add_one', state: 'SUCCESS', children: [] },
              {
                task: 'gateway.add_one',
                state: 'SUCCESS',
                children: [{ task: 'gateway.add_one', state: 'SUCCESS', children: [] }],
              },
            ],
          },
        ],
      },
    ]);
    const spawned = await app.store.getMany([sentId, chainLastId]);
    expect(spawned.map((r) => r.rootId)).toEqual([rootId, rootId]);
    expect((await app.store.get(sentId))?.parentId).toBe(spawnId);

    // A tree bounded by its cap says so.
    const capped = await app.store.tree(rootId, { nodeCountMax: 2 });
    expect(capped).toMatchObject({ count: 2, truncated: true });
  });
});
