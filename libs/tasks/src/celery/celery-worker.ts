import { Logger } from '@nestjs/common';
import type { ChannelModel, ConsumeMessage } from 'amqplib';
import type { ResultUpdate } from '../results/task-state';
import { TASK_EXCHANGE } from '../topology';
import {
  celeryEvent,
  eventClock,
  HEARTBEAT_FREQ_S,
  taskMessageFields,
  taskOutcomeEvent,
  workerEventFields,
  type CeleryEventType,
} from './celery-events';
import {
  brokerInfo,
  queueInfo,
  requestInfo,
  statsReply,
  type CeleryRequestInfo,
  type HeldMessage,
  type PidboxWorker,
} from './celery-pidbox';
import type { CeleryEventPublisher } from './event-publisher';
import { PidboxNode } from './pidbox-node';

/** Task ids one revoke may name; Celery's CLI sends a handful. */
const REVOKE_IDS_MAX = 100;
/** The AMQP heartbeat every Clearline connection asks for (BrokerConnection's default). */
const AMQP_HEARTBEAT_S = 10;

/** How a worker is monitored and controlled with Celery's own tools. */
export interface CeleryMonitoringOptions {
  /** Where events and remote-control answers are published (the publishing connection). */
  publisher: CeleryEventPublisher;
  /** Publish events (TASK_EVENTS); remote control answers either way. */
  events: boolean;
  /** Revokes as `TaskControl.revoke` does: persisted, then broadcast to every worker. */
  revoke: (taskId: string, options: { terminate: boolean }) => Promise<void>;
  /** The broker, for `inspect stats` (the password is never shown). */
  amqpUrl?: string;
}

/** What the worker's control lets the Celery side read and do. */
export interface WorkerView {
  node: string;
  running(): Iterable<HeldMessage>;
  reserved(): Iterable<HeldMessage>;
  processed(): ReadonlyMap<string, number>;
  registered(): string[];
  queues(): string[];
  concurrency(): number;
  prefetch: number;
  timeLimitHardMs: number;
  startedAtMs: number;
  /** Clearline's figures for `inspect stats` (lanes, queues, revocations held). */
  clearlineStats(): Record<string, unknown>;
  revokedIds(): Promise<string[]>;
  /** Honours a revoke in this worker at once; true when the task was running here. */
  revokeHere(taskId: string, terminate: boolean): boolean;
}

/** The fields of a delivery a monitor shows (`inspect active|reserved`). */
export function heldMessage(
  delivery: ConsumeMessage,
  id: string,
  name: string,
  startedAtMs: number | null,
): HeldMessage {
  return {
    id,
    name,
    headers: delivery.properties.headers ?? {},
    exchange: delivery.fields.exchange,
    routingKey: delivery.fields.routingKey,
    priority: typeof delivery.properties.priority === 'number' ? delivery.properties.priority : 0,
    redelivered: delivery.fields.redelivered,
    startedAtMs,
  };
}

/**
 * A Clearline worker as Celery's monitoring sees it: it publishes the task events of its
 * runs and its heartbeats (every 2 s) on `celeryev`, and answers Celery's remote control
 * (`celery inspect …`, `celery control revoke …`) on its pidbox queue.
 */
export class CeleryWorker implements PidboxWorker {
  private readonly logger = new Logger(CeleryWorker.name);
  private readonly pidbox: PidboxNode;
  /** Task events, which `celery control disable_events` may turn off for a while. */
  private taskEvents: boolean;
  private heartbeats: NodeJS.Timeout | null = null;
  private stopAttachListener: (() => void) | null = null;

  constructor(
    private readonly view: WorkerView,
    private readonly options: CeleryMonitoringOptions,
  ) {
    this.taskEvents = options.events;
    this.pidbox = new PidboxNode(this, options.publisher);
  }

  get node(): string {
    return this.view.node;
  }

  /** On every (re)connection of the worker: remote control, then online and heartbeats. */
  async attach(model: ChannelModel): Promise<void> {
    await this.pidbox.attach(model);
    if (!this.options.events || this.heartbeats) return;
    // Online now if the publishing connection is up, and again whenever it comes back.
    this.stopAttachListener = this.options.publisher.onAttach(() =>
      this.sendWorker('worker-online'),
    );
    if (this.options.publisher.ready) this.sendWorker('worker-online');
    this.heartbeats = setInterval(() => this.heartbeat(), HEARTBEAT_FREQ_S * 1000);
    this.heartbeats.unref();
  }

  /** Says the worker is going (`worker-offline`) and stops answering. */
  async close(): Promise<void> {
    if (this.heartbeats) {
      clearInterval(this.heartbeats);
      this.heartbeats = null;
      this.stopAttachListener?.();
      this.sendWorker('worker-offline');
    }
    await this.pidbox.close();
  }

  // ------------------------------------------------------------------ task events

  /**
   * `task-received`: a delivery came in. Not for a task that is revoked or expired (it
   * gets `task-revoked` alone, as in Celery) nor for a message that is not a task.
   */
  received(delivery: ConsumeMessage, revoked: boolean): void {
    if (!this.taskEvents || revoked || !this.options.publisher.wanted()) return;
    const fields = taskMessageFields(delivery.properties.headers ?? {});
    if (!fields) return;
    const expires = typeof fields['expires'] === 'string' ? Date.parse(fields['expires']) : NaN;
    if (expires <= Date.now()) return;
    this.send('task-received', fields);
  }

  /** `task-started`: the handler begins. */
  started(taskId: string): void {
    if (this.taskEvents && this.options.publisher.wanted()) {
      this.send('task-started', { uuid: taskId });
    }
  }

  /**
   * The event of a state the worker recorded: succeeded, failed, retried or revoked.
   * `startedAtMs` is when the handler began, if it did (a revoke of a running task
   * terminated it).
   */
  recorded(update: ResultUpdate, startedAtMs: number | null): void {
    if (!this.taskEvents || !this.options.publisher.wanted()) return;
    const event = taskOutcomeEvent(update, {
      runtimeS: startedAtMs === null ? 0 : (Date.now() - startedAtMs) / 1000,
      terminated: startedAtMs !== null && update.state === 'REVOKED',
    });
    if (event) this.send(event.type, event.fields);
  }

  private send(type: CeleryEventType, fields: Record<string, unknown>): void {
    this.options.publisher.publishEvent(celeryEvent(type, this.node, fields));
  }

  private sendWorker(type: 'worker-online' | 'worker-heartbeat' | 'worker-offline'): void {
    let processed = 0;
    for (const count of this.view.processed().values()) processed += count;
    const active = [...this.view.running()].length;
    this.send(type, workerEventFields({ active, processed }));
  }

  // --------------------------------------------------------------- remote control

  heartbeat(): void {
    if (this.options.events) this.sendWorker('worker-heartbeat');
  }

  setTaskEvents(on: boolean): { changed: boolean } | false {
    if (!this.options.events) return false;
    const changed = this.taskEvents !== on;
    this.taskEvents = on;
    if (on) this.options.publisher.expectListeners();
    if (changed)
      this.logger.log(`task events ${on ? 'enabled' : 'disabled'} by Celery remote control`);
    return { changed };
  }

  active(): CeleryRequestInfo[] {
    return [...this.view.running()].map((held) => requestInfo(held, this.node));
  }

  reserved(): CeleryRequestInfo[] {
    return [...this.view.reserved()].map((held) => requestInfo(held, this.node));
  }

  registered(): string[] {
    return [...this.view.registered()].sort();
  }

  stats(): Record<string, unknown> {
    return statsReply({
      processed: Object.fromEntries(this.view.processed()),
      uptimeS: Math.round((Date.now() - this.view.startedAtMs) / 1000),
      clock: eventClock.current,
      concurrency: this.view.concurrency(),
      prefetch: this.view.prefetch,
      timeLimitHardS: this.view.timeLimitHardMs / 1000,
      broker: this.options.amqpUrl ? brokerInfo(this.options.amqpUrl, AMQP_HEARTBEAT_S) : {},
      clearline: this.view.clearlineStats(),
    });
  }

  revokedIds(): Promise<string[]> {
    return this.view.revokedIds();
  }

  /**
   * Honoured here at once (and a running task terminated), then revoked as Clearline's
   * own revoke does: persisted, so a worker started later skips it too, and broadcast to
   * every Clearline worker, those this request was not addressed to included.
   */
  async revoke(taskIds: string[], terminate: boolean): Promise<string[]> {
    if (taskIds.length > REVOKE_IDS_MAX) {
      throw new Error(`a revoke names at most ${REVOKE_IDS_MAX} tasks, not ${taskIds.length}`);
    }
    const terminated: string[] = [];
    for (const id of taskIds) {
      if (this.view.revokeHere(id, terminate) && terminate) terminated.push(id);
    }
    await Promise.all(taskIds.map((id) => this.options.revoke(id, { terminate })));
    return terminated;
  }

  activeQueues(): Record<string, unknown>[] {
    return this.view.queues().map((queue) => queueInfo(queue, TASK_EXCHANGE));
  }

  clock(): number {
    return eventClock.current;
  }
}
