import type { OnApplicationShutdown } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import {
  BrokerUnavailableError,
  CONFIRM_TIMEOUT_MS_DEFAULT,
  type Publisher,
} from '../broker/publisher';
import type { CeleryEventPublisher } from '../celery/event-publisher';
import { GroupHandle } from '../canvas/group-handle';
import type { Chain, Chord, Group, Signature, Workflow } from '../canvas/signature';
import { WorkflowSender, type GroupIds } from '../canvas/workflow-sender';
import type { ResultStore } from '../results/result-store';
import type { ResultWaiter } from '../results/result-waiter';
import type { ReplyQueue, SentTask } from './reply-queue';
import { buildTask, type RoutedTask } from './task-message-factory';
import { TaskHandle } from './task-handle';
import { repliesByRpc, type SendOptions } from './send-options';

/**
 * The producer side: `send` publishes one task, confirmed by the broker, and
 * returns a handle on its outcome.
 */
export class TaskClient implements OnApplicationShutdown {
  private readonly workflows: WorkflowSender | null;

  constructor(
    private readonly publisher: Publisher,
    private readonly store: ResultStore,
    private readonly waiter: ResultWaiter,
    /** Where chords keep their join counter; without it `apply` refuses chords. */
    dataSource?: DataSource,
    /** This client's reply queue, for `reply: 'rpc'` and `worker: 'celery'`. */
    private readonly replies: ReplyQueue | null = null,
    /** Where Celery's `task-sent` events go; null when events are off. */
    private readonly events: CeleryEventPublisher | null = null,
  ) {
    this.workflows = dataSource ? new WorkflowSender(publisher, dataSource, waiter) : null;
  }

  /**
   * Sends a workflow (Celery's `apply_async` on a canvas), confirmed by the broker: a
   * signature, a chain (the handle is its last task's), a chord (the handle is its
   * callback's; the chord's row is written first, members are published a bounded
   * chunk at a time), or a group (a {@link GroupHandle} on its members). Sent while a
   * handler runs, the workflow joins that task's tree (root and parent ids).
   */
  apply<T = unknown>(workflow: Group): Promise<GroupHandle<T>>;
  apply<T = unknown>(workflow: Signature | Chain | Chord): Promise<TaskHandle<T>>;
  async apply<T = unknown>(workflow: Workflow): Promise<TaskHandle<T> | GroupHandle<T>> {
    if (!this.workflows) throw new Error('TaskClient.apply needs the data source (TasksModule)');
    const sent = await this.workflows.apply(workflow);
    return sent.kind === 'group' ? this.groupHandle<T>(sent) : this.handle<T>(sent.id);
  }

  /** A handle on a group sent earlier (`enqueueWorkflow` returns its ids). */
  groupHandle<T = unknown>(group: GroupIds): GroupHandle<T> {
    return new GroupHandle<T>(group.id, group.ids, this.store, this.waiter);
  }

  /**
   * Resolves once the broker confirmed the message; rejects if it is unroutable or
   * refused, and within `options.confirmTimeoutMs` (the module's `confirmTimeoutMs` by
   * default) if the broker is away: `BrokerUnavailableError` (not sent) or
   * `PublishTimeoutError` (outcome unknown).
   *
   * To a Python Celery worker: `send('proj.add', { y: 2 }, { worker: 'celery', queue:
   * 'celery', args: [1] })` — the payload is the kwargs, `args` the positional ones — and
   * `result()` reads the worker's `rpc://` reply (see {@link SendOptions.worker}).
   */
  async send<T = unknown>(
    task: string,
    payload: unknown,
    options: SendOptions = {},
  ): Promise<TaskHandle<T>> {
    if (repliesByRpc(options)) return this.sendForReply<T>(task, payload, options);
    const routed = buildTask(task, payload, options);
    // A fresh id has no history, so its outcome can only arrive by notification. A
    // caller-chosen id may have finished before (an idempotent resend): read it instead.
    if (options.id === undefined) this.waiter.expect(routed.id);
    await this.publish(routed, options);
    return this.handle<T>(routed.id);
  }

  /** `send` with `reply: 'rpc'`: the task names this client's reply queue, the handle reads it. */
  private async sendForReply<T>(
    task: string,
    payload: unknown,
    options: SendOptions,
  ): Promise<TaskHandle<T>> {
    if (options.replyTo !== undefined) {
      throw new TypeError("reply: rpc sends to this client's reply queue; give no replyTo");
    }
    const replies = this.replies;
    if (!replies) throw new Error('reply: rpc needs the reply queue of TasksModule');
    await replies.start();
    // Never a task whose reply has nowhere to go: the queue must exist on this connection.
    const readyTimeoutMs = options.confirmTimeoutMs ?? CONFIRM_TIMEOUT_MS_DEFAULT;
    if (!(await replies.whenReady(readyTimeoutMs))) {
      throw new BrokerUnavailableError(
        `the reply queue ${replies.name} was not declared within ${readyTimeoutMs} ms: ` +
          `${task} was not published`,
      );
    }
    const routed = buildTask(task, payload, { ...options, replyTo: replies.name });
    replies.expect(sentTask(routed, task));
    try {
      await this.publish(routed, options);
    } catch (error) {
      replies.forget(routed.id);
      throw error;
    }
    return new TaskHandle<T>(routed.id, this.store, this.waiter, replies);
  }

  private async publish(routed: RoutedTask, options: SendOptions): Promise<void> {
    await this.publisher.publish(
      routed.exchange,
      routed.routingKey,
      routed.encoded.content,
      routed.encoded.properties,
      options.confirmTimeoutMs !== undefined ? { timeoutMs: options.confirmTimeoutMs } : {},
    );
    // Celery's task-sent, once the broker has the task; fire-and-forget.
    this.events?.taskSent(routed.encoded.properties.headers as Record<string, unknown>, routed);
  }

  /** Ends the waits on the reply queue (the module closes the connection itself). */
  async onApplicationShutdown(): Promise<void> {
    await this.replies?.close();
  }

  /**
   * The publishing connection, for health checks: whether it is up, and how many
   * publishes await the broker's confirm.
   */
  brokerStatus(): { connected: boolean; unconfirmed: number } {
    return { connected: this.publisher.connected, unconfirmed: this.publisher.unconfirmedCount };
  }

  /**
   * Declares that this process will wait for `taskId`, a task that cannot have run yet:
   * call it before the transaction that enqueues the task (`enqueueTask`) commits, for an
   * id no earlier task had. Its outcome then arrives by notification and waiting for it
   * reads no row (as for a task `send` publishes with a fresh id). An id that may have run
   * before (a resend, a resumed request) must not be declared: its stored result would be
   * missed until the wait runs out.
   */
  expect(taskId: string): void {
    this.waiter.expect(taskId);
  }

  /** A handle on a task sent earlier (or through the outbox). */
  handle<T = unknown>(taskId: string): TaskHandle<T> {
    return new TaskHandle<T>(taskId, this.store, this.waiter);
  }
}

function sentTask(routed: RoutedTask, task: string): SentTask {
  const headers = routed.encoded.properties.headers as { root_id?: string; parent_id?: string };
  return {
    id: routed.id,
    task,
    queue: routed.queue,
    rootId: headers.root_id ?? null,
    parentId: headers.parent_id ?? null,
    sentAt: new Date(),
  };
}
