import { strict as assert } from 'node:assert';
import { hostname } from 'node:os';
import { Logger } from '@nestjs/common';
import { Server, type CustomTransportStrategy } from '@nestjs/microservices';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { DataSource } from 'typeorm';
import { BatchCollector } from '@clearline/persistence';
import { BrokerConnection } from '../broker/broker-connection';
import type { Publisher } from '../broker/publisher';
import type { TaskMessage } from '../protocol/celery-message';
import type { ResultStore } from '../results/result-store';
import {
  assertHandlersRouted,
  TaskRoutes,
  TASK_LANE_DEFAULT,
  type LaneSettings,
  type Topology,
  type WorkQueueSpec,
} from '../topology';
import { assertHandlersAgree, OrderedLanes } from '../ordered/ordered-lanes';
import { ShardConsumers } from '../ordered/shard-consumers';
import { AckBatcher } from './ack-batcher';
import { validateControlOptions } from '../control/control-options';
import { WorkerControl, workerName } from '../control/worker-control';
import type { CeleryMonitoringOptions } from '../celery/celery-worker';
import {
  TaskRunner,
  type Disposition,
  type PreparedTask,
  type RegisteredTask,
} from './task-runner';
import type { TaskHandlerOptions } from './task-options';
import { laneMetrics } from './task-metrics';

export interface TaskServerOptions {
  amqpUrl: string;
  topology: Topology;
  connectionName: string;
  /** The service, in consumer tags (`clearline.<service>.<lane>.<queue>.<host>.<pid>`). */
  serviceName?: string;
  /**
   * Unacknowledged messages the broker may push to each queue's consumer, in every lane
   * that `lanes` does not list (the realtime lane, as Clearline's services configure it).
   */
  prefetch: number;
  /** Handlers running at once in this process, per lane that `lanes` does not list. */
  concurrency: number;
  /** Prefetch and handler pool of each lane named here; the others take `prefetch`/`concurrency`. */
  lanes?: Readonly<Record<string, LaneSettings>>;
  /**
   * The lanes this process consumes (its handlers in other lanes stay idle: another
   * process runs them). Unset: every lane.
   */
  consumeLanes?: readonly string[];
  /** How long graceful shutdown waits for in-flight tasks. */
  shutdownTimeoutMs?: number;
  afterCommit?: (message: TaskMessage) => Promise<void> | void;
  /**
   * The work queues: their lanes, their task routes, and their ordered lanes (a lane's
   * shards are consumed one delivery at a time).
   */
  workQueues?: readonly WorkQueueSpec[];
  /** This worker's name in inspect replies (by default from the connection name). */
  workerName?: string;
  /** The hard time limit of tasks that set none (default TIME_LIMIT_HARD_MS_DEFAULT). */
  timeLimitHardMsDefault?: number;
  /** Celery's task events and remote control for this worker; none without. */
  celery?: CeleryMonitoringOptions;
}

/** A counting semaphore: at most `size` holders. */
class Slots {
  private used = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(readonly size: number) {}
  /** Holders now. */
  get busy(): number {
    return this.used;
  }
  /** Callers waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }
  async acquire(): Promise<void> {
    if (this.used < this.size) {
      this.used += 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.used -= 1;
  }
}

/**
 * One lane's share of the worker: its own channel (so its `basic.qos` prefetch window
 * and its pending acks are its own) and its own handler slots. A lane whose handlers
 * are all busy or slow never holds another lane's slots or prefetch.
 */
interface LaneWorker {
  lane: string;
  settings: LaneSettings;
  slots: Slots;
  channel: Channel | null;
  acks: AckBatcher | null;
  consumerTags: string[];
}

/**
 * The worker side, as a Nest custom transport: `@Task` handlers become consumers of
 * their queues, a channel and a handler pool per lane. Every delivery is acknowledged
 * only after its outcome is committed (acks-late); a handler error never escapes to
 * the process.
 */
export class TaskServer extends Server implements CustomTransportStrategy {
  private readonly log = new Logger(TaskServer.name);
  private readonly connection: BrokerConnection;
  private readonly runner: TaskRunner;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly routes: TaskRoutes;
  /** Lanes by name, created as their first queue is seen. */
  private readonly laneWorkers = new Map<string, LaneWorker>();
  /** Takes this worker's lanes out of the lane gauges (at close). */
  private unwatchLanes: (() => void) | null = null;
  /** Handler lookups by task name; Nest's own lookup normalises the pattern every time. */
  private readonly registry = new Map<string, RegisteredTask | null>();
  /** Group-commit collectors of batch tasks, by task and queue. */
  private readonly collectors = new Map<string, BatchCollector<PreparedTask, Disposition>>();
  private closing = false;
  private consumerCount = 0;
  private readonly lanes: OrderedLanes;
  /** Revocations, rate limits, time limits and inspect answers of this worker. */
  private readonly control: WorkerControl;
  private readonly shards: ShardConsumers;

  constructor(
    private readonly options: TaskServerOptions,
    dataSource: DataSource,
    store: ResultStore,
    publisher: Publisher,
  ) {
    super();
    this.connection = new BrokerConnection({
      url: options.amqpUrl,
      connectionName: options.connectionName,
      topology: options.topology,
    });
    this.routes = new TaskRoutes(options.workQueues);
    this.lanes = new OrderedLanes(options.workQueues);
    this.shards = new ShardConsumers({
      prefetch: options.prefetch,
      deliver: (acks, delivery, queue) => this.deliver(acks, delivery, queue),
      track: (work) => this.track(work),
    });
    this.control = new WorkerControl(
      {
        workerName: options.workerName ?? workerName(options.connectionName),
        concurrency: options.concurrency,
        prefetch: options.prefetch,
        lanes: () => this.laneSettings(),
        ...(options.timeLimitHardMsDefault !== undefined
          ? { timeLimitHardMsDefault: options.timeLimitHardMsDefault }
          : {}),
        queues: () => this.queues,
        registered: () => [...this.getHandlers().keys()],
        ...(options.celery ? { celery: { amqpUrl: options.amqpUrl, ...options.celery } } : {}),
      },
      dataSource,
    );
    this.runner = new TaskRunner({
      control: this.control,
      dataSource,
      store,
      publisher,
      resolve: (task) => this.resolveTask(task),
      toObservable: (value) => this.transformToObservable(value),
      ...(options.afterCommit ? { afterCommit: options.afterCommit } : {}),
    });
  }

  /** The queues this worker consumes: those of its registered tasks, in the lanes it consumes. */
  get queues(): string[] {
    const queues = new Set<string>();
    for (const [task, handler] of this.getHandlers()) {
      const queue = this.queueOfHandler(task, (handler.extras ?? {}) as TaskHandlerOptions);
      if (this.consumes(this.routes.laneOf(queue))) queues.add(queue);
    }
    return [...queues].sort();
  }

  private queueOfHandler(task: string, options: TaskHandlerOptions): string {
    return options.queue ?? this.lanes.routeOf(task)?.lane ?? this.routes.queueOf(task);
  }

  private consumes(lane: string): boolean {
    return this.options.consumeLanes === undefined || this.options.consumeLanes.includes(lane);
  }

  private settingsOf(lane: string): LaneSettings {
    return (
      this.options.lanes?.[lane] ?? {
        prefetch: this.options.prefetch,
        concurrency: this.options.concurrency,
      }
    );
  }

  /** The lane's share of this worker (its slots exist before its channel does). */
  private laneWorker(lane: string): LaneWorker {
    const known = this.laneWorkers.get(lane);
    if (known) return known;
    const settings = this.settingsOf(lane);
    const worker: LaneWorker = {
      lane,
      settings,
      slots: new Slots(settings.concurrency),
      channel: null,
      acks: null,
      consumerTags: [],
    };
    this.laneWorkers.set(lane, worker);
    return worker;
  }

  /** Prefetch and concurrency of each lane this worker consumes (inspect stats). */
  private laneSettings(): Record<string, LaneSettings> {
    const lanes = new Set(this.queues.map((queue) => this.routes.laneOf(queue)));
    return Object.fromEntries([...lanes].sort().map((lane) => [lane, this.settingsOf(lane)]));
  }

  private resolveTask(task: string): RegisteredTask | null {
    const known = this.registry.get(task);
    if (known !== undefined) return known;
    const registered = this.lookupTask(task);
    // Unknown names come from the wire: remember only what is registered, so junk cannot grow the map.
    if (registered) this.registry.set(task, registered);
    return registered;
  }

  private lookupTask(task: string): RegisteredTask | null {
    const handler = this.getHandlerByPattern(task);
    return handler ? { handler, options: (handler.extras ?? {}) as TaskHandlerOptions } : null;
  }

  listen(callback: (error?: unknown) => void): void {
    try {
      const handlers = [...this.getHandlers()].map(([task, h]): [string, TaskHandlerOptions] => [
        task,
        (h.extras ?? {}) as TaskHandlerOptions,
      ]);
      assertHandlersAgree(handlers, this.lanes);
      assertHandlersRouted(handlers, this.routes);
      validateControlOptions(handlers);
    } catch (error) {
      // A handler and the work queues disagree: refuse to start rather than consume a
      // queue no producer sends the task to, or disorder tasks.
      callback(error);
      return;
    }
    this.unwatchLanes = laneMetrics.watch(() =>
      [...this.laneWorkers.values()].map(({ lane, slots }) => ({
        lane,
        busy: slots.busy,
        waiting: slots.queued,
        size: slots.size,
      })),
    );
    this.connection
      .onConnect((model) => this.consume(model))
      .then(() => this.connection.connect())
      .then(() => callback(), callback);
  }

  private async consume(model: ChannelModel): Promise<void> {
    if (this.closing) return;
    // Revocations first: no task may be taken before the worker knows what is revoked.
    await this.control.attach(model);
    const queues = this.queues;
    const shardQueues = queues.flatMap((queue) => this.lanes.shardsOf(queue) ?? []);
    await this.shards.consume(model, shardQueues);
    const byLane = new Map<string, string[]>();
    for (const queue of queues.filter((q) => !this.lanes.shardsOf(q))) {
      const lane = this.routes.laneOf(queue);
      byLane.set(lane, [...(byLane.get(lane) ?? []), queue]);
    }
    for (const [lane, laneQueues] of byLane) {
      await this.consumeLane(model, this.laneWorker(lane), laneQueues);
    }
    for (const queue of shardQueues) this.laneWorker(this.routes.laneOf(queue));
    const lanes = [...this.laneWorkers.values()].map(
      (w) => `${w.lane}: prefetch ${w.settings.prefetch}, concurrency ${w.settings.concurrency}`,
    );
    this.log.log(
      queues.length > 0
        ? `consuming ${queues.join(', ')} (${lanes.join('; ')})`
        : 'consuming no queue (no lane of this process has a handler)',
    );
  }

  /** Opens the lane's channel with its prefetch window and consumes its queues on it. */
  private async consumeLane(
    model: ChannelModel,
    worker: LaneWorker,
    queues: readonly string[],
  ): Promise<void> {
    const channel = await model.createChannel();
    channel.on('error', (error: Error) =>
      this.log.warn(`consumer channel of lane ${worker.lane} error: ${error.message}`),
    );
    // Per consumer (global false): each of the lane's queues gets this window.
    await channel.prefetch(worker.settings.prefetch, false);
    const acks = new AckBatcher(channel);
    worker.channel = channel;
    worker.acks = acks;
    worker.consumerTags = [];
    for (const queue of queues) {
      const { consumerTag } = await channel.consume(
        queue,
        (delivery) => {
          if (!delivery) return;
          acks.received(delivery);
          this.track(this.deliver(acks, delivery, queue));
        },
        { noAck: false, consumerTag: this.consumerTag(worker.lane, queue) },
      );
      worker.consumerTags.push(consumerTag);
    }
  }

  /** Names the lane in the management UI: `clearline.gateway.webhooks.gateway.webhooks.<host>.<pid>.<n>`. */
  private consumerTag(lane: string, queue: string): string {
    const service =
      this.options.serviceName ?? this.options.connectionName.replace(/-consume$/, '');
    // Unique per channel is what the broker needs; the counter keeps reconnects distinct.
    this.consumerCount += 1;
    return `clearline.${service}.${lane}.${queue}.${hostname()}.${process.pid}.${this.consumerCount}`;
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async deliver(acks: AckBatcher, delivery: ConsumeMessage, queue: string): Promise<void> {
    this.control.received(delivery, queue);
    try {
      const disposition = await this.dispose(delivery, queue);
      if (disposition === 'ack') acks.ack(delivery);
      else acks.requeue(delivery);
    } catch (error) {
      // The database or broker failed under us: give the message back for another try.
      // (The quorum queue's delivery limit stops a message that fails like this forever.)
      this.log.error(`task delivery from ${queue} not settled: ${String(error)}`);
      try {
        acks.requeue(delivery);
      } catch {
        // Channel already closed: the broker requeues the message itself.
      }
    } finally {
      this.control.settled(delivery);
    }
  }

  /**
   * A handler slot bounds the tasks running at once. A batch task gives its slot back
   * once it is prepared and waits in its batch: a batch of a thousand tasks is one
   * unit of work, bounded by the batch's own concurrency.
   */
  private async dispose(delivery: ConsumeMessage, queue: string): Promise<Disposition> {
    const slots = this.laneWorker(this.routes.laneOf(queue)).slots;
    await slots.acquire();
    let prepared: PreparedTask;
    try {
      const outcome = await this.runner.prepare(delivery, queue);
      if (typeof outcome === 'string') return outcome;
      const { batch, rateLimit } = outcome.registered.options;
      if (!batch && rateLimit === undefined) return await this.runner.run(outcome);
      prepared = outcome;
    } finally {
      slots.release();
    }
    if (prepared.registered.options.rateLimit !== undefined) {
      return this.runRateLimited(prepared, slots);
    }
    return this.collectorFor(prepared).add(prepared);
  }

  /**
   * A rate-limited task waits for its token holding no handler slot, so other tasks run
   * meanwhile; then it takes a slot like any task. Closing gives it back to the broker.
   */
  private async runRateLimited(task: PreparedTask, slots: Slots): Promise<Disposition> {
    const { rateLimit, rateLimitScope } = task.registered.options;
    assert(rateLimit !== undefined, 'only rate-limited tasks wait for a token');
    // It may wait long unacknowledged; the ack batcher acknowledges the deliveries
    // settled behind it one by one, so they neither wait with it nor fill the window.
    if (!(await this.control.rateLimits.take(task.message.task, rateLimit, rateLimitScope))) {
      return 'requeue';
    }
    await slots.acquire();
    try {
      return await this.runner.run(task);
    } finally {
      slots.release();
    }
  }

  private collectorFor(task: PreparedTask): BatchCollector<PreparedTask, Disposition> {
    const key = `${task.message.task}\u0000${task.queue}`;
    const known = this.collectors.get(key);
    if (known) return known;
    const batch = task.registered.options.batch;
    assert(batch !== undefined, 'only batch tasks are collected');
    const weigh = batch.weight;
    const collector = new BatchCollector<PreparedTask, Disposition>(
      {
        sizeMax: batch.sizeMax,
        concurrency: batch.concurrency ?? 1,
        weight: weigh ? (t) => weigh(t.payload) : () => 1,
      },
      (tasks) => this.runner.runBatch(tasks),
    );
    this.collectors.set(key, collector);
    return collector;
  }

  on(): never {
    throw new Error('TaskServer does not emit events');
  }

  // Nest's transport contract: callers name the type of the underlying client.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  unwrap<T>(): T {
    return (this.laneWorkers.get(TASK_LANE_DEFAULT)?.channel ?? null) as T;
  }

  /** Stops consuming, lets in-flight tasks finish and acknowledge, then disconnects. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.unwatchLanes?.();
    const workers = [...this.laneWorkers.values()];
    await Promise.all(
      workers.flatMap(({ channel, consumerTags }) =>
        channel ? consumerTags.map((tag) => channel.cancel(tag).catch(() => undefined)) : [],
      ),
    );
    this.shards.stop();
    // Tasks waiting for a rate token go back to the broker instead of holding the shutdown.
    await this.control.close();
    const timeoutMs = this.options.shutdownTimeoutMs ?? 15_000;
    const timedOut = new Promise<'timeout'>((resolve) =>
      setTimeout(() => resolve('timeout'), timeoutMs).unref(),
    );
    const outcome = await Promise.race([
      Promise.all([...this.inFlight]).then(() => 'done' as const),
      timedOut,
    ]);
    if (outcome === 'timeout')
      this.log.warn(
        `${this.inFlight.size} tasks still running at shutdown; the broker will redeliver them`,
      );
    // Close the consumer channel first and wait for the broker's close-ok, so the acks just
    // sent are processed: closing only the connection can drop them, and a finished task
    // would then be redelivered.
    for (const { acks } of workers) {
      try {
        acks?.flush();
      } catch {
        // The channel is gone; the broker redelivers what was not acknowledged.
      }
    }
    await Promise.all(
      workers.map(({ channel }) =>
        channel ? channel.close().catch(() => undefined) : Promise.resolve(),
      ),
    );
    await this.shards.close();
    await this.connection.close();
  }
}
