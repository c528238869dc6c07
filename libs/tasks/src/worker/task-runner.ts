import { strict as assert } from 'node:assert';
import { Logger } from '@nestjs/common';
import type { MessageHandler } from '@nestjs/microservices';
import type { Message } from 'amqplib';
import { plainToInstance } from 'class-transformer';
import { validate, type ValidationError } from 'class-validator';
import { lastValueFrom, type Observable } from 'rxjs';
import type { DataSource, EntityManager } from 'typeorm';
import type { Publisher } from '../broker/publisher';
import { ORIGIN } from '../client/task-message-factory';
import { runAsTask } from '../canvas/workflow-scope';
import { NOTHING_STAGED, type AfterCommit } from '../canvas/workflow-continuations';
import { publishDeadLetter, type DeadLetterReason } from '../dead-letters/dead-letter';
import { claimInbox, claimInboxMany } from '../outbox/task-outbox';
import {
  decodeTask,
  encodeTask,
  MalformedTaskError,
  payloadOf,
  type TaskMessage,
} from '../protocol/celery-message';
import type { ResultStore } from '../results/result-store';
import { RpcReplies } from '../results/rpc-reply';
import type { ResultUpdate, TaskState } from '../results/task-state';
import { delayRoute } from '../topology';
import { DeferRequested, TaskBatchContext, TaskContext } from './task-context';
import { taskLabels, taskMetrics, UNREGISTERED_TASK } from './task-metrics';
import { isRetryable, retryDelayMs, shouldRetry, type TaskHandlerOptions } from './task-options';
import { serviceOfUser } from '@clearline/contracts';
import { readCommitted } from '@clearline/persistence';
import { RetryRequested, TaskRevokedError } from '../control/control-errors';
import { decideRequestedRetry, publishRetry } from '../control/requested-retry';
import { TaskGuard, timeLimitsOf } from '../control/time-limits';
import { cutTransaction } from '../control/transaction-cut';
import type { WorkerControl } from '../control/worker-control';
import { orderedRetryDelayMs } from '../ordered/ordered-lanes';
import { inBatchSpans, inTaskSpan, type TaskSpanOptions } from '../tracing/task-tracing';

/** What to do with the delivery once processing is over. */
export type Disposition = 'ack' | 'requeue';

export interface RegisteredTask {
  handler: MessageHandler;
  options: TaskHandlerOptions;
}

export interface TaskRunnerDeps {
  dataSource: DataSource;
  store: ResultStore;
  publisher: Publisher;
  resolve: (task: string) => RegisteredTask | null;
  toObservable: (value: unknown) => Observable<unknown>;
  /** Called after a task's effects and result are committed, before the ack (fault tests, metrics). */
  afterCommit?: (message: TaskMessage) => Promise<void> | void;
  /** Revocations, time limits and inspect state of the worker; without it, default limits only. */
  control?: WorkerControl;
}

/** A delivery decoded, validated and matched to its handler, ready to run. */
export interface PreparedTask {
  delivery: Message;
  queue: string;
  message: TaskMessage;
  registered: RegisteredTask;
  payload: unknown;
}

/** An eta this close is due now; the delay levels have millisecond granularity anyway. */
const ETA_TOLERANCE_MS = 5;

export class PayloadValidationError extends Error {
  override readonly name = 'PayloadValidationError';
}

/** A task from a sender its contract does not name; dead-lettered `unauthorized-sender`. */
export class UnauthorizedSenderError extends Error {
  override readonly name = 'UnauthorizedSenderError';
}

function describe(errors: ValidationError[], path = ''): string[] {
  return errors.flatMap((error) => {
    const field = path ? `${path}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((text) => `${field}: ${text}`);
    return [...own, ...describe(error.children ?? [], field)];
  });
}

/** What a task's trace span says about it. */
function spanOptions(delivery: Message, message: TaskMessage, queue: string): TaskSpanOptions {
  return {
    task: message.task,
    taskId: message.id,
    queue,
    retries: message.retries,
    headers: delivery.properties.headers,
  };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Runs one delivery through the task lifecycle; never throws for bad input or handler errors. */
export class TaskRunner {
  private readonly logger = new Logger(TaskRunner.name);
  /** Results sent to the reply queue a task names (Celery's `rpc://` backend), once committed. */
  private readonly replies: RpcReplies;

  constructor(private readonly deps: TaskRunnerDeps) {
    this.replies = new RpcReplies(deps.publisher);
  }

  /**
   * Everything before the handler: decode, find the handler, honour expires and eta,
   * validate the payload. Returns the task ready to run, or the delivery's disposition
   * when it was settled here (dead-lettered, revoked, sent round again).
   */
  async prepare(delivery: Message, queue: string): Promise<PreparedTask | Disposition> {
    let message: TaskMessage;
    try {
      message = decodeTask(delivery.content, delivery.properties);
    } catch (error) {
      if (!(error instanceof MalformedTaskError)) throw error;
      await this.deadLetter(delivery, queue, 'malformed', error, null);
      return 'ack';
    }
    if (await this.settledAsRevoked(message, queue)) return 'ack';
    const registered = this.deps.resolve(message.task);
    // A task that ignores its result says so in its message, so every write below knows.
    if (registered?.options.ignoreResult === true) message = { ...message, ignoreResult: true };
    if (!registered) {
      await this.deadLetter(
        delivery,
        queue,
        'unregistered',
        new Error(`no handler for task ${message.task}`),
        message,
      );
      return 'ack';
    }
    const refused = this.unauthorizedSender(delivery, message, registered.options);
    if (refused) {
      // Nothing is recorded: a stranger must not write the state of a task id it guessed.
      await this.deadLetter(delivery, queue, 'unauthorized-sender', refused, null);
      return 'ack';
    }
    if (message.expires && message.expires.getTime() <= Date.now()) {
      await this.record(message, queue, 'REVOKED', {
        errorType: 'TaskExpired',
        errorMessage: 'expired before it ran',
      });
      return 'ack';
    }
    const dueInMs = message.eta ? message.eta.getTime() - Date.now() : 0;
    if (dueInMs > ETA_TOLERANCE_MS) {
      // Delays longer than the delay levels can hold arrive early: send them round again.
      const route = delayRoute(queue, dueInMs);
      await this.deps.publisher.publish(
        route.exchange,
        route.routingKey,
        delivery.content,
        delivery.properties,
      );
      return 'ack';
    }
    try {
      const payload = await this.validatePayload(registered.options, payloadOf(message));
      return { delivery, queue, message, registered, payload };
    } catch (error) {
      await this.deadLetter(delivery, queue, 'invalid-payload', asError(error), message);
      return 'ack';
    }
  }

  /**
   * Why this message's sender may not send its task, or null when it may: the task names
   * its senders and the message's `user_id` (checked by RabbitMQ against the publishing
   * connection) is neither one of them nor this worker's own user.
   */
  private unauthorizedSender(
    delivery: Message,
    message: TaskMessage,
    options: TaskHandlerOptions,
  ): UnauthorizedSenderError | null {
    const { senders } = options;
    if (senders === undefined) return null;
    const user = delivery.properties.userId as unknown;
    const sender = typeof user === 'string' && user.length > 0 ? user : null;
    if (sender !== null && sender === this.deps.publisher.user) return null;
    const service = serviceOfUser(sender);
    if (service !== null && senders.includes(service)) return null;
    return new UnauthorizedSenderError(
      `${sender === null ? 'a message with no user_id' : `broker user ${sender}`} may not send ` +
        `${message.task} (its senders: ${senders.join(', ')})`,
    );
  }

  private async validatePayload(options: TaskHandlerOptions, payload: unknown): Promise<unknown> {
    if (!options.payload) return payload;
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      throw new PayloadValidationError('payload must be an object');
    }
    const instance = plainToInstance(options.payload, payload);
    const errors = await validate(instance, {
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
    });
    if (errors.length > 0) throw new PayloadValidationError(describe(errors).join('; '));
    return instance;
  }

  /** Runs one prepared task to its outcome: committed, retried or dead-lettered. */
  async run(task: PreparedTask): Promise<Disposition> {
    const { delivery, queue, message, registered, payload } = task;
    const { options } = registered;
    // Revoked while it waited for a slot or a rate token.
    if (await this.settledAsRevoked(message, queue)) return 'ack';
    const guard =
      this.deps.control?.begin(message, queue, options) ??
      new TaskGuard(message.id, timeLimitsOf(message, options));
    if (options.trackStarted) await this.record(message, queue, 'STARTED', {});
    const labels = taskLabels(message.task, queue);
    taskMetrics.started.inc(labels);
    const stopTimer = taskMetrics.duration.startTimer(labels);
    try {
      // The hard limit or a terminate ends the wait for the handler; the slot is freed.
      const ran = await inTaskSpan(spanOptions(delivery, message, queue), () =>
        guard.race(
          options.transactional
            ? this.runInTransaction(queue, message, registered, payload, guard)
            : this.runPlain(queue, message, registered, payload, guard),
        ),
      );
      if (ran) taskMetrics.outcomes.inc({ ...labels, state: 'SUCCESS' });
      else taskMetrics.duplicates.inc(labels);
      await this.deps.afterCommit?.(message);
      return 'ack';
    } catch (error) {
      if (error instanceof DeferRequested) return await this.defer(task, error.countdownMs);
      const inPlace = options.orderedBy === undefined ? null : this.inPlaceRetry(task, error);
      if (inPlace) return await this.retryInPlace(task, inPlace.error, inPlace.delayMs);
      if (await this.settleControlled(task, error)) return 'ack';
      await this.fail(delivery, queue, message, options, asError(error));
      return 'ack';
    } finally {
      if (this.deps.control) this.deps.control.end(guard, message);
      else guard.dispose();
      stopTimer();
    }
  }

  /** Records REVOKED for a revoked task, which is then acknowledged without running. */
  private async settledAsRevoked(message: TaskMessage, queue: string): Promise<boolean> {
    const revocation = this.deps.control?.revoked(message.id);
    if (!revocation) return false;
    await this.record(message, queue, 'REVOKED', {
      errorType: 'TaskRevokedError',
      errorMessage: revocation.reason ?? 'revoked',
    });
    return true;
  }

  /**
   * Ends a run stopped by a terminating revoke (REVOKED), or one whose handler asked for a
   * retry (`ctx.retry`): sent again through the delay levels, or dead-lettered
   * `retries-exhausted` once its retries are spent. False for any other error.
   */
  private async settleControlled(task: PreparedTask, error: unknown): Promise<boolean> {
    const { delivery, queue, message, registered } = task;
    if (error instanceof TaskRevokedError) {
      await this.record(message, queue, 'REVOKED', {
        errorType: error.name,
        errorMessage: error.message,
      });
      return true;
    }
    if (!(error instanceof RetryRequested)) return false;
    const decision = decideRequestedRetry(error, registered.options, message.retries);
    if (!decision.retry) {
      await this.deadLetter(delivery, queue, 'retries-exhausted', decision.error, message);
      return true;
    }
    await publishRetry(this.deps.publisher, message, queue, decision.delayMs);
    const reason = error.reason ?? error;
    await this.record(message, queue, 'RETRY', {
      errorType: reason.name,
      errorMessage: reason.message,
      traceback: reason.stack ?? null,
    });
    taskMetrics.retries.inc(taskLabels(message.task, queue));
    return true;
  }

  /**
   * Publishes `message` again with `retries`, due `delayMs` from now, through its queue's
   * delay levels (the wait is the broker's, not this worker's); resolves once confirmed.
   * A retry and a deferral differ only in the `retries` they send.
   */
  private async sendAgain(
    message: TaskMessage,
    queue: string,
    delayMs: number,
    retries: number,
  ): Promise<void> {
    const again = encodeTask({
      ...message,
      retries,
      eta: new Date(Date.now() + delayMs),
      origin: ORIGIN,
      embed: message.embed,
    });
    const route = delayRoute(queue, delayMs);
    await this.deps.publisher.publish(
      route.exchange,
      route.routingKey,
      again.content,
      again.properties,
    );
  }

  /**
   * Sends a deferred task (`ctx.defer`) round again as it is: the same id and `retries`,
   * an eta `countdownMs` away, through the delay levels of its queue (as a retry goes, so
   * the wait is the broker's, not this worker's), and acknowledges the original once the
   * copy is confirmed. Nothing is recorded: a deferral is not an attempt, so the task's
   * state and its retry budget stay as they were.
   */
  private async defer(task: PreparedTask, countdownMs: number): Promise<Disposition> {
    const { message, queue } = task;
    await this.sendAgain(message, queue, countdownMs, message.retries);
    taskMetrics.deferrals.inc({ task: message.task });
    this.logger.debug(`task ${message.task} ${message.id} deferred for ${countdownMs} ms`);
    return 'ack';
  }

  /**
   * The retry an ordered task makes, if any: one its handler asked for (`ctx.retry`,
   * with its countdown) or a retryable error with retries left. Null: settle as usual.
   */
  private inPlaceRetry(
    task: PreparedTask,
    error: unknown,
  ): { error: Error; delayMs: number } | null {
    const { options } = task.registered;
    const { retries } = task.message;
    if (error instanceof TaskRevokedError) return null;
    if (error instanceof RetryRequested) {
      const decision = decideRequestedRetry(error, options, retries);
      return decision.retry ? { error: error.reason ?? error, delayMs: decision.delayMs } : null;
    }
    if (!shouldRetry(options, error, retries)) return null;
    return { error: asError(error), delayMs: retryDelayMs(options, retries) };
  }

  /**
   * An ordered task retries where it stands: it records RETRY, waits out its backoff
   * holding its shard (the delivery stays unacknowledged, so a crash meanwhile returns
   * it to the head of the shard), then runs again. Through the delay queues it would
   * come back behind later tasks of its key.
   */
  private async retryInPlace(
    task: PreparedTask,
    error: Error,
    backoffMs: number,
  ): Promise<Disposition> {
    const { message, queue } = task;
    const delayMs = orderedRetryDelayMs(backoffMs);
    await this.record(message, queue, 'RETRY', {
      errorType: error.name,
      errorMessage: error.message,
      traceback: error.stack ?? null,
    });
    taskMetrics.retries.inc(taskLabels(message.task, queue));
    this.logger.warn(
      `ordered task ${message.task} ${message.id} retry ${message.retries + 1} in ${delayMs} ms, holding ${queue}: ${error.message}`,
    );
    await new Promise<void>((resolve) => setTimeout(resolve, delayMs));
    return this.run({ ...task, message: { ...message, retries: message.retries + 1 } });
  }

  private async invoke(
    registered: RegisteredTask,
    payload: unknown,
    context: TaskContext | TaskBatchContext,
  ): Promise<unknown> {
    // Tasks the handler sends become its children in the workflow tree (one task only:
    // a batch's tasks have no single parent).
    const message = context instanceof TaskContext ? context.message : null;
    const call = async (): Promise<unknown> => {
      const source: unknown = await registered.handler(payload, context);
      return lastValueFrom(this.deps.toObservable(source), { defaultValue: undefined });
    };
    return message ? runAsTask({ id: message.id, rootId: message.rootId }, call) : call();
  }

  private async runPlain(
    queue: string,
    message: TaskMessage,
    registered: RegisteredTask,
    payload: unknown,
    guard: TaskGuard,
  ): Promise<boolean> {
    const result = await this.invoke(
      registered,
      payload,
      new TaskContext(message, queue, null, registered.options, guard.signal),
    );
    // A handler abandoned at its hard limit may still finish: its run is settled already.
    if (guard.stoppedBy) throw guard.stoppedBy;
    // With the message, the result's flush also commits where the workflow goes next.
    const update = this.update(message, queue, 'SUCCESS', { result });
    await this.deps.store.write(update, message);
    this.deps.control?.recorded(update);
    await this.replies.send(message, update);
    return true;
  }

  /** Effects, inbox row and SUCCESS commit together; a duplicate returns false without running. */
  private async runInTransaction(
    queue: string,
    message: TaskMessage,
    registered: RegisteredTask,
    payload: unknown,
    guard: TaskGuard,
  ): Promise<boolean> {
    let followUps: AfterCommit = NOTHING_STAGED;
    const success = await readCommitted(this.deps.dataSource, async (manager: EntityManager) => {
      if (!(await claimInbox(manager, message.id, message.task))) {
        this.logger.debug(`task ${message.id} already applied; acknowledging the redelivery`);
        return null;
      }
      // Stopped: the transaction ends at the server, whatever the handler is doing.
      guard.onStop = () => cutTransaction(this.deps.dataSource, manager, this.logger);
      let result: unknown;
      try {
        result = await guard.race(
          this.invoke(
            registered,
            payload,
            new TaskContext(message, queue, manager, registered.options, guard.signal),
          ),
        );
      } finally {
        guard.onStop = null;
      }
      // The workflow's next steps commit with the effects; they are published after it.
      const update = this.update(message, queue, 'SUCCESS', { result });
      followUps = await this.deps.store.writeIn(manager, update, message);
      return update;
    });
    followUps();
    if (success === null) return false;
    this.deps.control?.recorded(success);
    await this.replies.send(message, success);
    return true;
  }

  /**
   * Runs tasks of one batch handler together: one transaction claims their inbox rows,
   * runs the handler once over the fresh payloads and writes every SUCCESS; the caller
   * acknowledges them all after the commit. If the transaction fails, each task runs
   * again alone, so a task that cannot commit fails (retry or dead letter) by itself.
   */
  async runBatch(tasks: readonly PreparedTask[]): Promise<Disposition[]> {
    const [first] = tasks;
    assert(first !== undefined, 'a batch is never empty');
    const labels = taskLabels(first.message.task, first.queue);
    taskMetrics.started.inc(labels, tasks.length);
    const stopTimer = taskMetrics.duration.startTimer(labels);
    try {
      let followUps: AfterCommit = NOTHING_STAGED;
      const applied = await inBatchSpans(
        tasks.map((t) => spanOptions(t.delivery, t.message, t.queue)),
        () =>
          readCommitted(this.deps.dataSource, (manager) =>
            this.applyBatch(manager, tasks, (staged) => {
              followUps = staged;
            }),
          ),
      );
      followUps();
      taskMetrics.outcomes.inc({ ...labels, state: 'SUCCESS' }, applied.length);
      taskMetrics.duplicates.inc(labels, tasks.length - applied.length);
      for (const { update } of applied) this.deps.control?.recorded(update);
      await Promise.all(applied.map(({ task, update }) => this.replies.send(task.message, update)));
      for (const { task } of applied) await this.deps.afterCommit?.(task.message);
      return tasks.map(() => 'ack');
    } catch (error) {
      if (tasks.length === 1) {
        await this.fail(
          first.delivery,
          first.queue,
          first.message,
          first.registered.options,
          asError(error),
        );
        return ['ack'];
      }
      this.logger.warn(
        `batch of ${tasks.length} ${first.message.task} tasks failed (${asError(error).message}); running them one by one`,
      );
      const dispositions: Disposition[] = [];
      for (const task of tasks) dispositions.push(...(await this.runBatch([task])));
      return dispositions;
    } finally {
      stopTimer();
    }
  }

  private async applyBatch(
    manager: EntityManager,
    tasks: readonly PreparedTask[],
    staged: (followUps: AfterCommit) => void,
  ): Promise<{ task: PreparedTask; update: ResultUpdate }[]> {
    // A task published twice may arrive twice in one batch: the first copy claims it.
    const distinct = [...new Map(tasks.map((t) => [t.message.id, t])).values()];
    const claimed = await claimInboxMany(
      manager,
      distinct.map((t) => ({ taskId: t.message.id, task: t.message.task })),
    );
    const fresh = distinct.filter((t) => claimed.has(t.message.id));
    const [first] = fresh;
    if (first === undefined) return [];
    const context = new TaskBatchContext(
      fresh.map((t) => t.message),
      first.queue,
      manager,
    );
    const results = await this.invoke(
      first.registered,
      fresh.map((t) => t.payload),
      context,
    );
    assert(Array.isArray(results), `batch handler ${first.message.task} returns an array`);
    assert(results.length === fresh.length, 'a batch handler returns one result per task');
    const updates = fresh.map((t, i) =>
      this.update(t.message, t.queue, 'SUCCESS', { result: results[i] as unknown }),
    );
    const followUps = await this.deps.store.writeManyIn(
      manager,
      updates,
      fresh.map((t) => t.message),
    );
    staged(followUps);
    return fresh.map((task, i) => ({ task, update: updates[i] as ResultUpdate }));
  }

  private async fail(
    delivery: Message,
    queue: string,
    message: TaskMessage,
    options: TaskHandlerOptions,
    error: Error,
  ): Promise<void> {
    const errorFields = {
      errorType: error.name,
      errorMessage: error.message,
      traceback: error.stack ?? null,
    };
    if (shouldRetry(options, error, message.retries)) {
      const delayMs = retryDelayMs(options, message.retries);
      await this.sendAgain(message, queue, delayMs, message.retries + 1);
      await this.record(message, queue, 'RETRY', errorFields);
      taskMetrics.retries.inc(taskLabels(message.task, queue));
      this.logger.warn(
        `task ${message.task} ${message.id} retry ${message.retries + 1} in ${delayMs} ms: ${error.message}`,
      );
      return;
    }
    await this.deadLetter(
      delivery,
      queue,
      isRetryable(options, error) ? 'retries-exhausted' : 'failed',
      error,
      message,
    );
  }

  /** Dead-letters the delivery and, when it is a task, records FAILURE for anyone waiting. */
  private async deadLetter(
    delivery: Message,
    queue: string,
    reason: DeadLetterReason,
    error: Error,
    message: TaskMessage | null,
  ): Promise<void> {
    await publishDeadLetter(this.deps.publisher, delivery, queue, reason, error);
    taskMetrics.deadLetters.inc({
      ...taskLabels(this.labelledTask(message), queue),
      queue,
      reason,
    });
    this.logger.warn(
      `dead-lettered ${message ? `${message.task} ${message.id}` : 'a message'} from ${queue} (${reason}): ${error.message}`,
    );
    if (message) {
      // Failed for good: its errbacks and its chord's failure commit with the FAILURE.
      await this.record(
        message,
        queue,
        'FAILURE',
        { errorType: error.name, errorMessage: error.message, traceback: error.stack ?? null },
        true,
      );
    }
  }

  private async record(
    message: TaskMessage,
    queue: string,
    state: TaskState,
    fields: Partial<ResultUpdate>,
    workflowContinues = false,
  ): Promise<void> {
    if (state === 'FAILURE' || state === 'REVOKED')
      taskMetrics.outcomes.inc({ ...taskLabels(this.labelledTask(message), queue), state });
    const update = this.update(message, queue, state, fields);
    await this.deps.store.write(update, workflowContinues ? message : undefined);
    // Celery's event for the state (task-failed, -retried, -revoked), fire-and-forget.
    this.deps.control?.recorded(update);
    await this.replies.send(message, update);
  }

  /** The task's name as a metric label: only names this worker has a handler for. */
  private labelledTask(message: TaskMessage | null): string {
    if (message === null || this.deps.resolve(message.task) === null) return UNREGISTERED_TASK;
    return message.task;
  }

  private update(
    message: TaskMessage,
    queue: string,
    state: TaskState,
    fields: Partial<ResultUpdate>,
  ): ResultUpdate {
    return {
      id: message.id,
      task: message.task,
      queue,
      state,
      retries: message.retries,
      rootId: message.rootId,
      parentId: message.parentId,
      groupId: message.group,
      groupIndex: message.groupIndex,
      worker: ORIGIN,
      ...(message.ignoreResult ? { ignoreResult: true } : {}),
      ...fields,
    };
  }
}
