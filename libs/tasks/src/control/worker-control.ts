import { hostname } from 'node:os';
import { Logger } from '@nestjs/common';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { DataSource } from 'typeorm';
import type { HeldMessage } from '../celery/celery-pidbox';
import {
  CeleryWorker,
  heldMessage,
  type CeleryMonitoringOptions,
  type WorkerView,
} from '../celery/celery-worker';
import type { TaskMessage } from '../protocol/celery-message';
import type { ResultUpdate } from '../results/task-state';
import {
  CONTROL_EXCHANGE,
  decodeCommand,
  type ActiveTaskInfo,
  type InspectAnswers,
  type InspectKind,
  type ReservedTaskInfo,
} from './control-protocol';
import { RateLimiters } from './rate-limit';
import {
  REVOCATION_EXPIRES_MS_DEFAULT,
  REVOKED_COUNT_MAX,
  Revocations,
  type Revocation,
} from './revocations';
import {
  TaskGuard,
  timeLimitsOf,
  TIME_LIMIT_HARD_MS_DEFAULT,
  type TimeLimitOptions,
} from './time-limits';

export interface WorkerControlOptions {
  /** The worker's name in inspect replies (Celery's node name). */
  workerName: string;
  concurrency: number;
  prefetch: number;
  /** Prefetch and concurrency of each lane the worker consumes. */
  lanes?: () => Record<string, { prefetch: number; concurrency: number }>;
  timeLimitHardMsDefault?: number;
  queues: () => string[];
  registered: () => string[];
  /** Celery's events and remote control (`celery events`, `celery inspect`, Flower); off without. */
  celery?: CeleryMonitoringOptions;
}

interface Running {
  guard: TaskGuard;
  info: Omit<ActiveTaskInfo, 'startedAt'>;
  /** Epoch ms; made a date only when someone inspects (this runs for every task). */
  startedAtMs: number;
  /** The delivery, for Celery's `inspect active` (argument reprs, delivery info). */
  delivery: ConsumeMessage | null;
}

interface Reserved {
  info: Omit<ReservedTaskInfo, 'receivedAt'>;
  receivedAtMs: number;
  delivery: ConsumeMessage;
}

let workersInProcess = 0;

/** A task this worker holds, as Celery's `inspect active|reserved` shows it. */
function held(
  info: { id: string; name: string; queue: string },
  delivery: ConsumeMessage | null,
  startedAtMs: number | null,
): HeldMessage {
  if (delivery) return heldMessage(delivery, info.id, info.name, startedAtMs);
  // Not known from a delivery (never expected: a run begins from one).
  return {
    id: info.id,
    name: info.name,
    headers: {},
    exchange: '',
    routingKey: info.queue,
    priority: 0,
    redelivered: false,
    startedAtMs,
  };
}

/**
 * Celery's node name form `name@host`, the host part made unique per process:
 * `service@host:pid`, with a counter when one process runs several workers (tests). It
 * names the worker's pidbox queue too, which must be its own.
 */
export function workerName(service: string): string {
  workersInProcess += 1;
  const suffix = workersInProcess > 1 ? `:${workersInProcess}` : '';
  return `${service}@${hostname()}:${process.pid}${suffix}`;
}

/**
 * The control side of one worker: the revocations it honours, its rate limiters, the
 * guards (time limits, terminate) of its running tasks, and the answers to inspect
 * requests, received on its own queue bound to the control exchange.
 */
export class WorkerControl {
  private readonly logger = new Logger(WorkerControl.name);
  readonly revocations = new Revocations();
  readonly rateLimits: RateLimiters;
  private readonly running = new Map<string, Running>();
  private readonly reserved = new Map<string, Reserved>();
  private readonly processed = new Map<string, number>();
  private readonly startedAtMs = Date.now();
  private channel: Channel | null = null;
  /** The worker as Celery's monitoring sees it (events, pidbox), when configured. */
  private readonly celery: CeleryWorker | null;

  constructor(
    private readonly options: WorkerControlOptions,
    private readonly dataSource: DataSource,
  ) {
    this.rateLimits = new RateLimiters(dataSource);
    this.celery = options.celery ? new CeleryWorker(this.celeryView(), options.celery) : null;
  }

  get workerName(): string {
    return this.options.workerName;
  }

  /**
   * On every (re)connection: binds this worker's control queue first, then reads the
   * persisted revocations, so no revoke falls between the two; runs before the work
   * queues are consumed.
   */
  async attach(model: ChannelModel): Promise<void> {
    // A process without task handlers (a producer) is no worker: it answers nothing.
    if (this.options.queues().length === 0) return;
    const channel = await model.createChannel();
    channel.on('error', (error: Error) =>
      this.logger.warn(`control channel error: ${error.message}`),
    );
    const { queue } = await channel.assertQueue('', {
      exclusive: true,
      autoDelete: true,
      durable: false,
      arguments: { 'x-queue-type': 'classic' },
    });
    await channel.bindQueue(queue, CONTROL_EXCHANGE, '');
    await channel.consume(queue, (command) => command && this.onCommand(channel, command), {
      noAck: true,
    });
    this.channel = channel;
    await this.revocations.load(this.dataSource);
    await this.celery?.attach(model);
  }

  /** The revocation of this task, if it is revoked. */
  revoked(taskId: string): Revocation | undefined {
    return this.revocations.get(taskId);
  }

  /** A delivery arrived: it is reserved until its handler begins or it is settled. */
  received(delivery: ConsumeMessage, queue: string): void {
    const headers: Record<string, unknown> = delivery.properties.headers ?? {};
    const id = headers['id'];
    if (typeof id !== 'string') return;
    const name = headers['task'];
    this.reserved.set(id, {
      info: {
        id,
        name: typeof name === 'string' ? name : 'unknown',
        queue,
        worker: this.workerName,
      },
      receivedAtMs: Date.now(),
      delivery,
    });
    this.celery?.received(delivery, this.revocations.get(id) !== undefined);
  }

  /** The delivery's outcome is settled (acknowledged or given back). */
  settled(delivery: ConsumeMessage): void {
    const headers: Record<string, unknown> = delivery.properties.headers ?? {};
    const id = headers['id'];
    if (typeof id === 'string' && !this.running.has(id)) this.reserved.delete(id);
  }

  /** The handler begins: its guard holds its limits and lets a revoke terminate it. */
  begin(message: TaskMessage, queue: string, options: TimeLimitOptions): TaskGuard {
    const limits = timeLimitsOf(
      message,
      options,
      this.options.timeLimitHardMsDefault ?? TIME_LIMIT_HARD_MS_DEFAULT,
    );
    const guard = new TaskGuard(message.id, limits);
    const delivery =
      this.reserved.get(message.id)?.delivery ?? this.running.get(message.id)?.delivery ?? null;
    this.reserved.delete(message.id);
    this.running.set(message.id, {
      guard,
      info: {
        id: message.id,
        name: message.task,
        queue,
        worker: this.workerName,
      },
      startedAtMs: Date.now(),
      delivery,
    });
    this.celery?.started(message.id);
    return guard;
  }

  /**
   * The runner recorded a state of this task (succeeded, failed, retried, revoked):
   * Celery's event for it, with the run time of a handler that ran.
   */
  recorded(update: ResultUpdate): void {
    this.celery?.recorded(update, this.running.get(update.id)?.startedAtMs ?? null);
  }

  /** The run is over, however it ended. */
  end(guard: TaskGuard, message: TaskMessage): void {
    guard.dispose();
    if (this.running.get(message.id)?.guard === guard) this.running.delete(message.id);
    this.processed.set(message.task, (this.processed.get(message.task) ?? 0) + 1);
  }

  private onCommand(channel: Channel, delivery: ConsumeMessage): void {
    const command = decodeCommand(delivery.content);
    if (!command) {
      this.logger.warn('ignored a control message that is not a command');
      return;
    }
    if (command.method === 'revoke') {
      const { task_id: taskId, terminate, reason, expires_at_ms: expiresAtMs } = command.arguments;
      this.revocations.add(taskId, {
        terminate,
        reason,
        expiresAtMs: Number.isFinite(expiresAtMs)
          ? expiresAtMs
          : Date.now() + REVOCATION_EXPIRES_MS_DEFAULT,
      });
      if (terminate) this.running.get(taskId)?.guard.terminate(reason);
      return;
    }
    const replyTo = delivery.properties.replyTo as string | undefined;
    if (!replyTo) return;
    const reply = {
      worker: this.workerName,
      kind: command.method,
      reply: this.answer(command.method),
    };
    try {
      channel.sendToQueue(replyTo, Buffer.from(JSON.stringify(reply)), {
        correlationId: delivery.properties.correlationId as string | undefined,
        contentType: 'application/json',
        deliveryMode: 1,
      });
    } catch (error) {
      this.logger.warn(`inspect reply not sent: ${String(error)}`);
    }
  }

  /** This worker's answer to an inspect request. */
  answer<K extends InspectKind>(kind: K): InspectAnswers[K] {
    const answers: { [P in InspectKind]: () => InspectAnswers[P] } = {
      active: () =>
        [...this.running.values()].map((r) => ({
          ...r.info,
          startedAt: new Date(r.startedAtMs).toISOString(),
        })),
      reserved: () =>
        [...this.reserved.values()].map((r) => ({
          ...r.info,
          receivedAt: new Date(r.receivedAtMs).toISOString(),
        })),
      registered: () => [...this.options.registered()].sort(),
      stats: () => ({
        worker: this.workerName,
        pid: process.pid,
        uptimeS: Math.round((Date.now() - this.startedAtMs) / 1000),
        concurrency: this.options.concurrency,
        prefetch: this.options.prefetch,
        lanes: this.options.lanes?.() ?? {},
        processed: Object.fromEntries(this.processed),
        queues: this.options.queues(),
        revoked: this.revocations.size,
      }),
    };
    return answers[kind]();
  }

  /** What Celery's monitoring reads of this worker, and how it revokes here. */
  private celeryView(): WorkerView {
    const lanes = (): Record<string, { prefetch: number; concurrency: number }> =>
      this.options.lanes?.() ?? {};
    return {
      node: this.options.workerName,
      running: () => [...this.running.values()].map((r) => held(r.info, r.delivery, r.startedAtMs)),
      reserved: () => [...this.reserved.values()].map((r) => held(r.info, r.delivery, null)),
      processed: () => this.processed,
      registered: () => this.options.registered(),
      queues: () => this.options.queues(),
      concurrency: () => {
        const pools = Object.values(lanes()).map((lane) => lane.concurrency);
        return pools.length > 0 ? pools.reduce((sum, n) => sum + n, 0) : this.options.concurrency;
      },
      prefetch: this.options.prefetch,
      timeLimitHardMs: this.options.timeLimitHardMsDefault ?? TIME_LIMIT_HARD_MS_DEFAULT,
      startedAtMs: this.startedAtMs,
      clearlineStats: () => ({
        lanes: lanes(),
        queues: this.options.queues(),
        revoked: this.revocations.size,
      }),
      revokedIds: async () => {
        const rows: { task_id: string }[] = await this.dataSource.query(
          `SELECT task_id FROM task_revocations WHERE expires_at > now()
            ORDER BY revoked_at DESC LIMIT $1`,
          [REVOKED_COUNT_MAX],
        );
        return rows.map((row) => row.task_id);
      },
      revokeHere: (taskId, terminate) => {
        this.revocations.add(taskId, {
          terminate,
          reason: null,
          expiresAtMs: Date.now() + REVOCATION_EXPIRES_MS_DEFAULT,
        });
        const running = this.running.get(taskId);
        if (terminate) running?.guard.terminate(null);
        return running !== undefined;
      },
    };
  }

  /** Stops listening for commands and gives every task waiting for a rate token back. */
  async close(): Promise<void> {
    this.rateLimits.close();
    await this.celery?.close();
    await this.channel?.close().catch(() => undefined);
    this.channel = null;
  }
}
