import {
  Inject,
  Injectable,
  Logger,
  Module,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { DiscoveryModule, DiscoveryService } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { BeatLifecycle } from './beat/beat-lifecycle';
import type { BeatOptions } from './beat/beat-scheduler';
import type { TaskSchedule } from './beat/task-schedule';
import { BrokerConnection } from './broker/broker-connection';
import { CeleryEventPublisher } from './celery/event-publisher';
import { CONFIRM_TIMEOUT_MS_DEFAULT, Publisher } from './broker/publisher';
import { ReplyQueue } from './client/reply-queue';
import { TaskClient } from './client/task-client';
import { REVOCATION_EXPIRES_MS_DEFAULT } from './control/revocations';
import { TaskControl } from './control/task-control';
import { workerName } from './control/worker-control';
import { DeadLetterAdmin } from './dead-letters/dead-letter-admin';
import { OutboxRelay } from './outbox/outbox-relay';
import { outboxSender, outboxWriterGraceMs } from './outbox/task-outbox';
import { CommittedOutbox } from './outbox/committed-outbox';
import type { TaskMessage } from './protocol/celery-message';
import { ResultStore } from './results/result-store';
import { ResultWaiter } from './results/result-waiter';
import type { RetentionOptions } from './retention/retention-sweeper';
import { buildTopology, processRoutes, type LaneSettings, type WorkQueueSpec } from './topology';
import { processLanes } from './ordered/ordered-lanes';
import { taskMetrics } from './worker/task-metrics';
import { TaskServer } from './worker/task-server';

export interface TasksModuleOptions {
  amqpUrl: string;
  databaseUrl: string;
  /** Names this process's connections in the management UI. */
  serviceName: string;
  /**
   * Every work queue of the system: each process declares the whole topology, and
   * producers and workers route tasks by the queues' `tasks` lists.
   */
  workQueues: readonly WorkQueueSpec[];
  /** Prefetch per consumer of every lane that `lanes` does not list (default 100). */
  prefetch?: number;
  /** Handlers running at once per lane that `lanes` does not list (default 50). */
  concurrency?: number;
  /**
   * How long a graceful shutdown waits for tasks in flight to finish and be acknowledged
   * (default 15 s); what is still running then is redelivered by the broker.
   */
  drainTimeoutMs?: number;
  /**
   * Prefetch and concurrency of each lane named here: each lane has its own channel,
   * window and handler pool, so one kind of work never waits for another.
   */
  lanes?: Readonly<Record<string, LaneSettings>>;
  /**
   * The lanes this process consumes (another process runs the rest); unset: all. A
   * process that consumes none still publishes and relays its outbox.
   */
  consumeLanes?: readonly string[];
  /** Run the outbox relay in this process. */
  outboxRelay?: boolean;
  afterCommit?: (message: TaskMessage) => Promise<void> | void;
  /**
   * Periodic tasks of this service (feature modules add theirs with
   * `provideTaskSchedules`): every replica runs the scheduler, one leads at a time.
   */
  schedules?: readonly TaskSchedule[];
  /** Scheduler tuning; `false`: this process runs no scheduler (it never leads nor sweeps). */
  beat?: BeatOptions | false;
  /** How long task rows are kept; `false`: this process never sweeps. Defaults apply otherwise. */
  retention?: RetentionOptions | false;
  /**
   * The hard time limit of every task that declares none (`@Task` `timeLimitHardMs`, or
   * a call's `timeLimitHardS`): 300 s by default, so a hung task never holds its slot
   * for ever.
   */
  timeLimitHardMsDefault?: number;
  /**
   * How long a publish waits for the broker's confirm (5 s by default): then it rejects
   * with `PublishTimeoutError` (outcome unknown) or `BrokerUnavailableError` (not sent).
   */
  confirmTimeoutMs?: number;
  /** Messages held in memory while the broker is away (10,000 by default); more are refused. */
  publishBacklogCountMax?: number;
  /**
   * Celery's monitoring events (`task-sent` … `task-revoked`, worker heartbeats) on the
   * `celeryev` exchange; on unless `false`. Celery's remote control answers either way.
   */
  events?: boolean;
}

export interface TasksModuleAsyncOptions {
  imports?: DynamicModule['imports'];
  inject?: (string | symbol | (abstract new (...args: never[]) => unknown))[];
  useFactory: (...args: never[]) => TasksModuleOptions | Promise<TasksModuleOptions>;
}

export const TASKS_OPTIONS = Symbol('TASKS_OPTIONS');
const PUBLISH_CONNECTION = Symbol('PUBLISH_CONNECTION');

/** Tasks this process has finished (succeeded, failed, retried or found done already). */
async function tasksFinished(): Promise<number> {
  const counts = await Promise.all(
    [taskMetrics.outcomes, taskMetrics.retries, taskMetrics.duplicates].map(async (counter) =>
      (await counter.get()).values.reduce((sum, { value }) => sum + value, 0),
    ),
  );
  return counts.reduce((sum, count) => sum + count, 0);
}

/** Opens the publishing side at boot and closes everything in order at shutdown. */
@Injectable()
class TasksLifecycle
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('Tasks');

  constructor(
    @Inject(TASKS_OPTIONS) private readonly options: TasksModuleOptions,
    @Inject(PUBLISH_CONNECTION) private readonly connection: BrokerConnection,
    private readonly publisher: Publisher,
    private readonly server: TaskServer,
    private readonly store: ResultStore,
    private readonly waiter: ResultWaiter,
    private readonly relay: OutboxRelay,
    private readonly committed: CommittedOutbox,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.publisher.start();
    await this.connection.connect();
    if (this.options.outboxRelay) await this.relay.start();
  }

  /**
   * Consumers stop and drain while the publisher and database are still there. Says
   * what it did, so an operator stopping a service sees that nothing was cut short.
   */
  async beforeApplicationShutdown(signal?: string): Promise<void> {
    const startedMs = Date.now();
    const queues = this.server.queues;
    this.logger.log(
      `shutting down${signal ? ` on ${signal}` : ''}: cancelling the consumers of ` +
        `${queues.length > 0 ? queues.join(', ') : 'no queue'}, finishing the tasks in flight`,
    );
    const finishedBefore = await tasksFinished();
    await this.server.close();
    const finished = (await tasksFinished()) - finishedBefore;
    await this.committed.drain();
    await this.relay.stop();
    await this.store.drain();
    const unconfirmed = this.publisher.unconfirmedCount;
    this.logger.log(
      `shut down in ${Date.now() - startedMs} ms: consumers cancelled, ` +
        `${finished} ${finished === 1 ? 'task' : 'tasks'} in flight finished, ` +
        `outbox relay ${this.options.outboxRelay ? 'stopped' : 'not running'}, results flushed` +
        (unconfirmed > 0 ? `; ${unconfirmed} publishes still unconfirmed` : ''),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.waiter.close();
    await this.connection.close();
  }
}

@Module({})
export class TasksModule {
  static forRootAsync(async: TasksModuleAsyncOptions): DynamicModule {
    return {
      module: TasksModule,
      global: true,
      imports: [DiscoveryModule, ...(async.imports ?? [])],
      providers: [
        {
          provide: TASKS_OPTIONS,
          inject: async.inject ?? [],
          useFactory: async (...args: never[]) => {
            const options = await async.useFactory(...args);
            // Producers without a container at hand (enqueueTask, workflow follow-ups) route
            // tasks by these.
            processLanes.add(options.workQueues);
            processRoutes.add(options.workQueues);
            return options;
          },
        },
        {
          provide: PUBLISH_CONNECTION,
          inject: [TASKS_OPTIONS],
          useFactory: (o: TasksModuleOptions) => {
            const connection = new BrokerConnection({
              url: o.amqpUrl,
              connectionName: `${o.serviceName}-publish`,
              topology: buildTopology(o.workQueues),
            });
            // Outbox rows written in this process are relayed by this user only, and its
            // writer rows are its own for twice its confirm deadline.
            outboxSender.user = connection.user;
            outboxSender.writerGraceMs = outboxWriterGraceMs(
              o.confirmTimeoutMs ?? CONFIRM_TIMEOUT_MS_DEFAULT,
            );
            return connection;
          },
        },
        {
          provide: Publisher,
          inject: [TASKS_OPTIONS, PUBLISH_CONNECTION],
          useFactory: (o: TasksModuleOptions, c: BrokerConnection) =>
            new Publisher(c, {
              ...(o.confirmTimeoutMs !== undefined ? { confirmTimeoutMs: o.confirmTimeoutMs } : {}),
              ...(o.publishBacklogCountMax !== undefined
                ? { backlogCountMax: o.publishBacklogCountMax }
                : {}),
            }),
        },
        {
          provide: CeleryEventPublisher,
          inject: [PUBLISH_CONNECTION],
          useFactory: (c: BrokerConnection) => {
            // Events and remote-control answers go out on the publishing connection,
            // opened at bootstrap; attach never fails the connection's set-up.
            const events = new CeleryEventPublisher();
            void c.onConnect((model) => events.attach(model));
            return events;
          },
        },
        {
          provide: ResultStore,
          inject: [DataSource, Publisher],
          // The publisher sends a finished task's workflow follow-ups right after commit.
          useFactory: (ds: DataSource, p: Publisher) => new ResultStore(ds, p),
        },
        {
          provide: ResultWaiter,
          inject: [TASKS_OPTIONS, ResultStore],
          useFactory: (o: TasksModuleOptions, s: ResultStore) => new ResultWaiter(o.databaseUrl, s),
        },
        {
          provide: TaskClient,
          inject: [
            TASKS_OPTIONS,
            PUBLISH_CONNECTION,
            Publisher,
            ResultStore,
            ResultWaiter,
            DataSource,
            CeleryEventPublisher,
          ],
          useFactory: (
            o: TasksModuleOptions,
            c: BrokerConnection,
            p: Publisher,
            s: ResultStore,
            w: ResultWaiter,
            ds: DataSource,
            events: CeleryEventPublisher,
          ) =>
            // The reply queue (reply: 'rpc') lives on the publishing connection, declared on first use.
            new TaskClient(
              p,
              s,
              w,
              ds,
              new ReplyQueue(c, o.serviceName),
              o.events === false ? null : events,
            ),
        },
        {
          provide: CommittedOutbox,
          inject: [DataSource, Publisher],
          useFactory: (ds: DataSource, p: Publisher) => new CommittedOutbox(ds, p),
        },
        {
          provide: OutboxRelay,
          inject: [TASKS_OPTIONS, DataSource, Publisher],
          useFactory: (o: TasksModuleOptions, ds: DataSource, p: Publisher) =>
            new OutboxRelay(ds, p, { databaseUrl: o.databaseUrl }),
        },
        {
          provide: DeadLetterAdmin,
          inject: [TASKS_OPTIONS, Publisher],
          useFactory: (o: TasksModuleOptions, p: Publisher) =>
            new DeadLetterAdmin(
              o.amqpUrl,
              p,
              o.workQueues.map((q) => q.name),
            ),
        },
        {
          provide: TaskServer,
          inject: [
            TASKS_OPTIONS,
            DataSource,
            ResultStore,
            Publisher,
            CeleryEventPublisher,
            TaskControl,
          ],
          useFactory: (
            o: TasksModuleOptions,
            ds: DataSource,
            s: ResultStore,
            p: Publisher,
            events: CeleryEventPublisher,
            control: TaskControl,
          ) =>
            new TaskServer(
              {
                amqpUrl: o.amqpUrl,
                topology: buildTopology(o.workQueues),
                connectionName: `${o.serviceName}-consume`,
                serviceName: o.serviceName,
                prefetch: o.prefetch ?? 100,
                concurrency: o.concurrency ?? 50,
                ...(o.lanes ? { lanes: o.lanes } : {}),
                ...(o.consumeLanes ? { consumeLanes: o.consumeLanes } : {}),
                workQueues: o.workQueues,
                workerName: workerName(o.serviceName),
                ...(o.drainTimeoutMs !== undefined ? { shutdownTimeoutMs: o.drainTimeoutMs } : {}),
                ...(o.timeLimitHardMsDefault !== undefined
                  ? { timeLimitHardMsDefault: o.timeLimitHardMsDefault }
                  : {}),
                ...(o.afterCommit ? { afterCommit: o.afterCommit } : {}),
                // Celery's monitoring; a revoke through Celery's remote control is ours.
                celery: {
                  publisher: events,
                  events: o.events !== false,
                  revoke: (taskId, options) => control.revoke(taskId, options),
                },
              },
              ds,
              s,
              p,
            ),
        },
        TasksLifecycle,
        {
          provide: TaskControl,
          inject: [TASKS_OPTIONS, DataSource, Publisher, PUBLISH_CONNECTION],
          // Revocations are kept as long as results are (the retention horizon).
          useFactory: (o: TasksModuleOptions, ds: DataSource, p: Publisher, c: BrokerConnection) =>
            new TaskControl(
              ds,
              p,
              c,
              (o.retention === false ? undefined : o.retention?.resultExpiresMs) ??
                REVOCATION_EXPIRES_MS_DEFAULT,
            ),
        },
        {
          provide: BeatLifecycle,
          inject: [TASKS_OPTIONS, DataSource, DiscoveryService],
          useFactory: (o: TasksModuleOptions, ds: DataSource, discovery: DiscoveryService) =>
            new BeatLifecycle(ds, discovery, {
              databaseUrl: o.databaseUrl,
              serviceName: o.serviceName,
              schedules: o.schedules ?? [],
              beat: o.beat ?? {},
              retention: o.retention ?? {},
            }),
        },
      ],
      exports: [
        TaskClient,
        TaskServer,
        CommittedOutbox,
        ResultStore,
        DeadLetterAdmin,
        Publisher,
        TaskControl,
        TASKS_OPTIONS,
      ],
    };
  }
}
