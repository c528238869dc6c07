/**
 * Monitoring and control of Clearline's workers with Celery's own tools (issue 14):
 * - events: a succeeded, a failed, a retried and a revoked task each give Celery's
 *   events in order, with Celery's fields (`task-sent` from our client, then
 *   `task-received`, `-started`, `-succeeded` / `-failed` / `-retried` / `-revoked`), and
 *   the worker says `worker-online` and sends `worker-heartbeat`s; a worker with
 *   TASK_EVENTS=0 sends none, yet answers remote control;
 * - remote control: `celery inspect ping|registered|stats|active|reserved|revoked` list our
 *   workers in Celery's shapes (the CLI's readable output too), `celery control revoke`
 *   addressed to one worker revokes the task on every Clearline worker as
 *   `npm run tasks -- revoke` does (persisted in `task_revocations`, broadcast, REVOKED),
 *   and `celery control terminate` aborts a running one;
 * - declarations: Celery's and ours agree whichever comes first (RabbitMQ would refuse a
 *   different one with PRECONDITION_FAILED).
 *
 * How: the real thing on this file's vhost and database. Python Celery 5 (Debian's
 * python3-celery) runs `receive_events.py` (Celery's `app.events.Receiver`, printing each
 * event as JSON) from before our workers start, and the `celery` command line. Two
 * Clearline workers run in this process: `monitored` (events on, one handler slot, so a
 * task held at a gate keeps the next one waiting, reserved) and `quiet` (TASK_EVENTS=0).
 * Events of one worker arrive in the order it published them (one channel), so order is
 * asserted by arrival; `task-sent`, sent by the client once the broker confirmed the
 * task, has no fixed place among them. "None arrive" is checked after a later event of the other worker
 * has arrived, on a task the quiet worker finished before it was sent.
 */
import { hostname } from 'node:os';
import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { Task, TaskContext, TaskControl } from '@clearline/tasks';
import {
  anyNumber,
  anyString,
  ensurePythonCelery,
  eventually,
  Gate,
  isolatedInfrastructure,
  startTaskApp,
  type IsolatedInfrastructure,
  type TaskApp,
} from '@clearline/testing';
import {
  celery,
  EventReceiver,
  repliesOf,
  runPython,
  type CommandOutcome,
  type ReceivedEvent,
} from './fixtures/celery-monitoring/celery-tools';

const PYTHON_INSTALL_TIMEOUT_MS = 10 * 60_000;
/** `celery inspect` collects answers this long (seconds, Celery's default) from every node. */
const INSPECT_TIMEOUT_S = '1';
/** With `-d <node>` the command returns at the node's answer; this is only its deadline. */
const ADDRESSED_TIMEOUT_S = '10';
/** Celery's exit status when no node answered (EX_UNAVAILABLE). */
const EX_UNAVAILABLE = 69;

const containing = (fields: object): unknown => expect.objectContaining(fields);
const including = (text: string): unknown => expect.stringContaining(text);

class CardDeclined extends Error {
  override readonly name = 'CardDeclined';
}

/** Where `gateway.monitor_hold` waits until the test opens it. */
const gate = new Gate();
/** Runs of `gateway.monitor_count`, by task id. */
const runs = new Map<string, number>();

@Controller()
class MonitoredTasks {
  @Task('gateway.monitor_capture')
  capture(@Payload() payload: { payment_id: string }): { captured: boolean; payment_id: string } {
    return { captured: true, payment_id: payload.payment_id };
  }

  @Task('gateway.monitor_decline')
  decline(): never {
    throw new CardDeclined("card declined: it's expired");
  }

  @Task('gateway.monitor_flaky', { retryCountMax: 2 })
  flaky(@Ctx() ctx: TaskContext): string {
    if (ctx.retries === 0) ctx.retry({ countdownMs: 10, error: new Error('processor busy') });
    return `ok after ${ctx.retries} retry`;
  }

  @Task('gateway.monitor_hold')
  async hold(): Promise<string> {
    await gate.opened;
    return 'held';
  }

  @Task('gateway.monitor_count')
  count(@Ctx() ctx: TaskContext): string {
    runs.set(ctx.taskId, (runs.get(ctx.taskId) ?? 0) + 1);
    return 'ran';
  }
}

@Controller()
class QuietTasks {
  @Task('refund.monitor_quiet')
  quiet(): string {
    return 'quiet';
  }
}

/**
 * The node name of the worker whose registered tasks include `task` (our own inspect,
 * done once `workers` answered).
 */
async function nodeOf(app: TaskApp, task: string, workers: number): Promise<string> {
  const replies = await app.app
    .get(TaskControl)
    .inspect('registered', { timeoutMs: 10_000, limit: workers });
  const reply = replies.find((r) => r.reply.includes(task));
  if (!reply) throw new Error(`no worker registered ${task}`);
  return reply.worker;
}

/** The answers of `celery inspect … --json`, by node. */
function byNode(outcome: CommandOutcome): Record<string, unknown> {
  return repliesOf(outcome) as Record<string, unknown>;
}

function types(events: ReceivedEvent[]): string[] {
  return events.map((event) => event.type);
}

function expectSucceeded(outcome: CommandOutcome): void {
  expect({ code: outcome.code, stderr: outcome.stderr }).toEqual({ code: 0, stderr: '' });
}

describe('Celery monitoring and remote control of Clearline workers', () => {
  let infra: IsolatedInfrastructure;
  let receiver: EventReceiver;
  let pingBeforeWorkers: CommandOutcome;
  let monitored: TaskApp;
  /** The last test stops it, to see it go offline. */
  let monitoredClosed = false;
  let quiet: TaskApp;
  let monitoredNode: string;
  let quietNode: string;

  /**
   * A task's events once `done` holds for the worker's (in the order the worker sent
   * them) and its `task-sent` arrived too: our client sends that one once the broker
   * confirmed the task, when the worker may have received and started it already.
   */
  const eventsOf = (taskId: string, done: (events: ReceivedEvent[]) => boolean, what: string) =>
    eventually(
      () => {
        const events = receiver.ofTask(taskId);
        const worker = events.filter((e) => e.type !== 'task-sent');
        const sent = events.find((e) => e.type === 'task-sent');
        return done(worker) && sent !== undefined && { worker, sent };
      },
      { what: `${what} (receiver said: ${receiver.log || 'nothing'})` },
    );
  const endsWith = (type: string) => (events: ReceivedEvent[]) => events.at(-1)?.type === type;

  beforeAll(async () => {
    await ensurePythonCelery();
    infra = await isolatedInfrastructure();
    // Python declares first: the receiver its `celeryev`, the ping (no worker yet) the
    // pidbox exchanges; then our workers declare the same.
    [receiver, pingBeforeWorkers] = await Promise.all([
      EventReceiver.start(infra.amqpUrl),
      celery(infra.amqpUrl, 'inspect', 'ping', '--json', '-t', '0.5'),
    ]);
    monitored = await startTaskApp({
      infra,
      service: 'monitored',
      controllers: [MonitoredTasks],
      tasks: { concurrency: 1, prefetch: 10 },
    });
    quiet = await startTaskApp({
      infra,
      service: 'quiet',
      controllers: [QuietTasks],
      env: { TASK_EVENTS: '0' },
    });
    [monitoredNode, quietNode] = await Promise.all([
      nodeOf(monitored, 'gateway.monitor_capture', 2),
      nodeOf(quiet, 'refund.monitor_quiet', 2),
    ]);
  }, PYTHON_INSTALL_TIMEOUT_MS);

  afterAll(async () => {
    gate.open();
    await receiver.stop();
    await quiet.close();
    if (!monitoredClosed) await monitored.close();
    await infra.destroy();
  });

  it('publishes the events of a succeeded, a failed and a retried task in order, as Celery does', async () => {
    const [ok, failed, retried] = await Promise.all([
      monitored.client.send('gateway.monitor_capture', { payment_id: 'pay_1' }),
      monitored.client.send('gateway.monitor_decline', {}),
      monitored.client.send('gateway.monitor_flaky', {}),
    ]);

    const okEvents = await eventsOf(ok.id, endsWith('task-succeeded'), 'the success');
    expect(types(okEvents.worker)).toEqual(['task-received', 'task-started', 'task-succeeded']);
    const byType = Object.fromEntries(okEvents.worker.map((e) => [e.type, e]));
    expect(okEvents.sent).toMatchObject({
      hostname: `gen${process.pid}@${hostname()}`,
      name: 'gateway.monitor_capture',
      kwargs: "{'payment_id': 'pay_1'}",
      queue: 'gateway',
      exchange: 'clearline.tasks',
      routing_key: 'gateway',
      retries: 0,
    });
    expect(byType['task-received']).toMatchObject({
      hostname: monitoredNode,
      pid: process.pid,
      name: 'gateway.monitor_capture',
      args: '[]',
      kwargs: "{'payment_id': 'pay_1'}",
      root_id: ok.id,
      parent_id: null,
      retries: 0,
      eta: null,
      expires: null,
    });
    expect(byType['task-succeeded']).toMatchObject({
      hostname: monitoredNode,
      result: "{'captured': True, 'payment_id': 'pay_1'}",
      runtime: anyNumber(),
      utcoffset: anyNumber(),
    });
    // The worker's Lamport clock moves forward with each event it sends.
    const clocks = okEvents.worker.map((e) => e.clock);
    expect([...clocks].sort((a, b) => a - b)).toEqual(clocks);

    const failedEvents = await eventsOf(failed.id, endsWith('task-failed'), 'the failure');
    expect(types(failedEvents.worker)).toEqual(['task-received', 'task-started', 'task-failed']);
    expect(failedEvents.worker.at(-1)).toMatchObject({
      exception: `CardDeclined("card declined: it's expired")`,
      traceback: including('CardDeclined'),
    });

    const retriedEvents = await eventsOf(retried.id, endsWith('task-succeeded'), 'the retry');
    // Each delivery's events come in order; the first one's `task-retried` follows its
    // start, and may come before or after the second delivery is received (the retry is
    // published when the attempt fails, the event sent once its RETRY is recorded).
    const deliveries = retriedEvents.worker.filter((e) => e.type !== 'task-retried');
    expect(types(deliveries)).toEqual([
      'task-received',
      'task-started',
      'task-received',
      'task-started',
      'task-succeeded',
    ]);
    const retries = retriedEvents.worker.filter((e) => e.type === 'task-retried');
    expect(retries).toHaveLength(1);
    const retryAt = retriedEvents.worker.findIndex((e) => e.type === 'task-retried');
    expect(retryAt).toBeGreaterThan(retriedEvents.worker.indexOf(deliveries[1] as ReceivedEvent));
    const [firstReceived, , againReceived, , succeeded] = deliveries;
    const [retry] = retries;
    expect(firstReceived).toMatchObject({ retries: 0 });
    expect(retry).toMatchObject({ exception: "Error('processor busy')" });
    expect(againReceived).toMatchObject({ retries: 1, eta: anyString() });
    expect(succeeded).toMatchObject({ result: "'ok after 1 retry'" });
  });

  describe('while one task runs and the next waits for the slot', () => {
    let held: string;
    let waiting: string;

    beforeAll(async () => {
      gate.close();
      held = (await monitored.client.send('gateway.monitor_hold', {})).id;
      waiting = (await monitored.client.send('gateway.monitor_count', {})).id;
      await eventsOf(held, endsWith('task-started'), 'the held task started');
      await eventsOf(waiting, (e) => types(e).includes('task-received'), 'the next task received');
    });

    afterAll(() => gate.open());

    it('celery inspect lists our workers, their tasks, the running and the waiting one', async () => {
      const amqp = infra.amqpUrl;
      const t = ['-t', INSPECT_TIMEOUT_S];
      const [ping, registered, stats, active, reserved, readableStats, readableActive] =
        await Promise.all([
          celery(amqp, 'inspect', 'ping', '--json', ...t),
          celery(amqp, 'inspect', 'registered', '--json', ...t),
          celery(amqp, 'inspect', 'stats', '--json', ...t),
          celery(amqp, 'inspect', 'active', '--json', ...t),
          celery(amqp, 'inspect', 'reserved', '--json', ...t),
          celery(amqp, 'inspect', 'stats', ...t),
          celery(amqp, 'inspect', 'active', ...t),
        ]);
      // Before our workers ran, Python found nobody (and declared the pidbox exchanges).
      expect(pingBeforeWorkers.code).toBe(EX_UNAVAILABLE);
      expect(pingBeforeWorkers.stderr).toContain('No nodes replied');

      for (const outcome of [ping, registered, stats, active, reserved]) expectSucceeded(outcome);
      expect(repliesOf(ping)).toEqual({
        [monitoredNode]: { ok: 'pong' },
        [quietNode]: { ok: 'pong' },
      });
      expect(repliesOf(registered)).toEqual({
        [monitoredNode]: [
          'gateway.monitor_capture',
          'gateway.monitor_count',
          'gateway.monitor_decline',
          'gateway.monitor_flaky',
          'gateway.monitor_hold',
        ],
        [quietNode]: ['refund.monitor_quiet'],
      });
      expect(byNode(stats)[monitoredNode]).toMatchObject({
        pid: process.pid,
        total: { 'gateway.monitor_capture': 1, 'gateway.monitor_decline': 1 },
        pool: { 'max-concurrency': 1, processes: [process.pid] },
        prefetch_count: 10,
        broker: { transport: 'amqp', virtual_host: infra.name },
        clock: anyString(),
        uptime: anyNumber(),
      });
      expect(repliesOf(active)).toEqual({
        [monitoredNode]: [
          containing({
            id: held,
            name: 'gateway.monitor_hold',
            type: 'gateway.monitor_hold',
            hostname: monitoredNode,
            args: '[]',
            kwargs: '{}',
            time_start: anyNumber(),
            acknowledged: false,
            worker_pid: process.pid,
            delivery_info: containing({ routing_key: 'gateway', redelivered: false }),
          }),
        ],
        [quietNode]: [],
      });
      expect(byNode(reserved)[monitoredNode]).toEqual([
        containing({ id: waiting, name: 'gateway.monitor_count', time_start: null }),
      ]);
      // The readable output Celery users read: no error, our node and our task in it.
      for (const outcome of [readableStats, readableActive]) expectSucceeded(outcome);
      expect(readableStats.stdout).toContain(`${monitoredNode}: OK`);
      expect(readableStats.stdout).toContain('"max-concurrency": 1');
      expect(readableActive.stdout).toContain(held);
      expect(readableActive.stdout).toContain('2 nodes online.');
    });

    it('celery control revoke, addressed to another worker, revokes it here as our revoke does', async () => {
      // Addressed to the quiet worker only: the monitored one, which holds the task, hears
      // it from Clearline's own broadcast, as it would from `npm run tasks -- revoke`.
      const revoke = await celery(
        infra.amqpUrl,
        'control',
        'revoke',
        waiting,
        '--json',
        '-d',
        quietNode,
        '-t',
        ADDRESSED_TIMEOUT_S,
      );
      expectSucceeded(revoke);
      // `celery control` prints the list of answers, one per node.
      expect(repliesOf(revoke)).toEqual([
        { [quietNode]: { ok: `tasks ${waiting} flagged as revoked` } },
      ]);
      // Persisted, so a worker started later skips it too.
      const rows: { task_id: string; terminate: boolean }[] = await monitored.dataSource.query(
        `SELECT task_id, terminate FROM task_revocations WHERE task_id = $1`,
        [waiting],
      );
      expect(rows).toEqual([{ task_id: waiting, terminate: false }]);
      const listed = await celery(
        infra.amqpUrl,
        'inspect',
        'revoked',
        '--json',
        '-d',
        monitoredNode,
        '-t',
        ADDRESSED_TIMEOUT_S,
      );
      expect(repliesOf(listed)).toEqual({ [monitoredNode]: [waiting] });
      // The monitored worker knows it before the waiting task gets the slot.
      const control = monitored.app.get(TaskControl);
      await eventually(
        async () =>
          (await control.inspect('stats', { timeoutMs: 1_000 })).some(
            (r) => r.worker === monitoredNode && r.reply.revoked > 0,
          ),
        { what: 'the monitored worker holding the revocation' },
      );

      gate.open();
      const record = await monitored.client.handle(waiting).settled({ timeoutMs: 30_000 });
      expect(record).toMatchObject({ state: 'REVOKED', errorType: 'TaskRevokedError' });
      expect(runs.get(waiting)).toBeUndefined();
      const events = await eventsOf(waiting, endsWith('task-revoked'), 'the revoke');
      expect(types(events.worker)).toEqual(['task-received', 'task-revoked']);
      expect(events.worker.at(-1)).toMatchObject({
        hostname: monitoredNode,
        terminated: false,
        signum: null,
        expired: false,
      });
    });
  });

  it('celery control terminate aborts a running task, which ends REVOKED', async () => {
    gate.close();
    const running = await monitored.client.send('gateway.monitor_hold', {});
    await eventsOf(running.id, endsWith('task-started'), 'the task to terminate started');
    const terminate = await celery(
      infra.amqpUrl,
      'control',
      'terminate',
      'TERM',
      running.id,
      '--json',
      '-d',
      monitoredNode,
      '-t',
      ADDRESSED_TIMEOUT_S,
    );
    expectSucceeded(terminate);
    expect(repliesOf(terminate)).toEqual([{ [monitoredNode]: { ok: `terminate: ${running.id}` } }]);
    expect(await running.settled({ timeoutMs: 30_000 })).toMatchObject({ state: 'REVOKED' });
    const events = await eventsOf(running.id, endsWith('task-revoked'), 'the terminate');
    expect(events.worker.at(-1)).toMatchObject({ terminated: true, signum: '15', expired: false });
    // The abandoned handler may finish now; its run is settled already.
    gate.open();
  });

  it('publishes no event with TASK_EVENTS=0, and still answers remote control', async () => {
    const quietTask = await quiet.client.send('refund.monitor_quiet', {});
    expect(await quietTask.result({ timeoutMs: 30_000 })).toBe('quiet');
    // A later event of the other worker: whatever the quiet one sent before has arrived.
    const fence = await monitored.client.send('gateway.monitor_capture', { payment_id: 'fence' });
    await eventsOf(fence.id, endsWith('task-succeeded'), 'the fence task');

    expect(receiver.ofTask(quietTask.id)).toEqual([]);
    expect(receiver.events.filter((e) => e.hostname === quietNode)).toEqual([]);
    const ping = await celery(infra.amqpUrl, 'inspect', 'ping', '--json', '-d', quietNode);
    expect(repliesOf(ping)).toEqual({ [quietNode]: { ok: 'pong' } });
  });

  it("agrees with Celery's declarations whichever comes first", async () => {
    // Here our worker declares first, on a vhost of its own; then Python declares all of
    // Celery's exchanges and queues for monitoring and control, this node's included.
    const fresh = await isolatedInfrastructure();
    const first = await startTaskApp({ infra: fresh, service: 'first', controllers: [QuietTasks] });
    try {
      const node = await nodeOf(first, 'refund.monitor_quiet', 1);
      const declared = await runPython(fresh.amqpUrl, ['declare.py', node]);
      expect(declared).toMatchObject({ code: 0, stdout: 'clearline-monitoring declared\n' });
      const ping = await celery(fresh.amqpUrl, 'inspect', 'ping', '--json', '-d', node);
      expect(repliesOf(ping)).toEqual({ [node]: { ok: 'pong' } });
    } finally {
      await first.close();
      await fresh.destroy();
    }
    // And Python after ours on this vhost, where Python declared the exchanges first.
    const declared = await runPython(infra.amqpUrl, ['declare.py', monitoredNode]);
    expect(declared.code).toBe(0);
  });

  it("says the worker is online, sends heartbeats, and says it went offline, with Celery's fields", async () => {
    const mine = (type: string) =>
      receiver.events.filter((e) => e.type === type && e.hostname === monitoredNode);
    // Heartbeats come every two seconds after the worker came online.
    const [heartbeat] = await eventually(
      () => mine('worker-heartbeat').length > 0 && mine('worker-heartbeat'),
      { what: 'a worker-heartbeat' },
    );
    expect(mine('worker-online')).toHaveLength(1);
    expect(heartbeat).toMatchObject({
      freq: 2,
      pid: process.pid,
      active: anyNumber(),
      processed: anyNumber(),
      loadavg: [anyNumber(), anyNumber(), anyNumber()],
      sw_ident: 'clearline-node',
      sw_sys: anyString(),
    });

    await monitored.close();
    monitoredClosed = true;
    const [offline] = await eventually(
      () => mine('worker-offline').length > 0 && mine('worker-offline'),
      { what: 'the worker-offline of a stopped worker' },
    );
    expect(offline).toMatchObject({ freq: 2, active: 0, sw_ident: 'clearline-node' });
  });
});
