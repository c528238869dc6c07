import { strict as assert } from 'node:assert';
import type { TaskHandlerOptions } from '@clearline/tasks';
import {
  decodeTask,
  encodeTask,
  MalformedTaskError,
  payloadOf,
  type EncodedTask,
  type TaskMessage,
} from '../../tasks/src/protocol/celery-message';
import { isRetryable, retryDelayMs, shouldRetry } from '../../tasks/src/worker/task-options';
import { TaskRunner, type TaskRunnerDeps } from '../../tasks/src/worker/task-runner';
import type { Consumer, Delivery, DeliveryOutcome, SimBroker } from './broker';
import type { MemoryDatabase, ResultRow, Session, Tx } from './database';
import type { Faults } from './faults';
import type { SimRandom } from './random';
import type { Scheduler } from './scheduler';

/** A batch task as a worker runs it: its declared options and its handler over a transaction. */
export interface SimBatchTask {
  name: string;
  options: TaskHandlerOptions;
  handler: (tx: Tx, payloads: unknown[]) => Promise<unknown[]>;
}

export interface SimWorkerDeps {
  scheduler: Scheduler;
  db: MemoryDatabase;
  broker: SimBroker;
  faults: Faults;
  random: SimRandom;
  task: SimBatchTask;
  trace: (actor: string, what: string) => void;
  restartMs: () => number;
  /** Injected bug: acknowledge a batch before its transaction commits. */
  ackBeforeCommit: boolean;
}

interface Prepared {
  delivery: Delivery;
  message: TaskMessage;
  payload: unknown;
}

interface Collector {
  queued: Prepared[];
  running: boolean;
  scheduled: boolean;
}

/** A runner for its payload validation only: nothing here does I/O. */
const payloadValidator = new TaskRunner({
  resolve: () => null,
  toObservable: () => {
    throw new Error('not for running tasks');
  },
} as Partial<TaskRunnerDeps> as TaskRunnerDeps);

/** An eta this close is due now (task-runner.ts). */
const ETA_TOLERANCE_MS = 5;

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * A ledger worker process running the task runner's contract for a batch task
 * (`TaskRunner.prepare` / `runBatch` / `fail`, `TaskServer`'s collector and acks) over
 * the simulated broker and database, with the task layer's own decoding, encoding and
 * retry policy. The real runner is not driven: it talks SQL to PostgreSQL and reads the
 * wall clock and Math.random. Per batch: one transaction claims the inbox rows, runs the
 * handler once over the fresh payloads, writes every SUCCESS and commits; then every
 * delivery of the batch is acknowledged. A failed batch runs again task by task; a
 * failed task retries through the delay levels (a new message, `retries + 1`) or is
 * dead-lettered with its reason and a FAILURE row.
 */
export class SimWorker {
  private life: Session;
  private generation = 0;
  private consumers: Consumer[] = [];
  private collectors = new Map<string, Collector>();

  constructor(
    readonly name: string,
    private readonly deps: SimWorkerDeps,
    private readonly queues: readonly { queue: string; prefetch: number }[],
  ) {
    this.life = { name, alive: false };
  }

  start(): void {
    this.generation += 1;
    const life: Session = { name: `${this.name}.${this.generation}`, alive: true };
    this.life = life;
    this.collectors = new Map();
    this.subscribe(life);
    this.deps.trace(this.name, `start ${life.name}`);
  }

  private subscribe(life: Session): void {
    assert(this.consumers.length === 0, 'one connection at a time');
    this.consumers = this.queues.map(({ queue, prefetch }) =>
      this.deps.broker.subscribe(this.name, queue, prefetch, (delivery) => {
        this.onDelivery(delivery, life);
      }),
    );
  }

  /** The process dies: its transactions roll back, its deliveries go back; it restarts later. */
  crash(kind: string): void {
    const life = this.life;
    if (!life.alive) return;
    life.alive = false;
    this.deps.trace(this.name, `CRASH ${kind}`);
    this.deps.db.endSession(life);
    for (const consumer of this.consumers) this.deps.broker.close(consumer);
    this.consumers = [];
    this.deps.scheduler.at(this.deps.restartMs(), () => {
      this.start();
    });
  }

  /** The connection drops: deliveries go back, work under way goes on, its acks are lost. */
  private dropConnection(life: Session): void {
    // Already reconnecting: a connection is lost once.
    if (!life.alive || this.life !== life || this.consumers.length === 0) return;
    this.deps.trace(this.name, 'connection lost');
    for (const consumer of this.consumers) this.deps.broker.close(consumer);
    this.consumers = [];
    this.deps.scheduler.at(this.deps.restartMs(), () => {
      if (life.alive && this.life === life) this.subscribe(life);
    });
  }

  owns(session: Session): boolean {
    return session === this.life;
  }

  private onDelivery(delivery: Delivery, life: Session): void {
    if (!life.alive) return;
    const { scheduler, faults } = this.deps;
    this.deps.trace(
      this.name,
      `got ${delivery.message.taskId}${delivery.redelivered ? ' redelivered' : ''}`,
    );
    if (faults.hit('connection-lost')) {
      scheduler.at(this.deps.random.int(0, 30), () => {
        this.dropConnection(life);
      });
    }
    scheduler.spawn(`${this.name} prepare`, async () => {
      const prepared = await this.prepare(delivery, life);
      if (prepared) this.collect(prepared, life);
    });
  }

  /** `TaskRunner.prepare`: decode, match the handler, honour expires and eta, validate. */
  private async prepare(delivery: Delivery, life: Session): Promise<Prepared | null> {
    const { task, scheduler } = this.deps;
    let message: TaskMessage;
    try {
      message = decodeTask(delivery.message.content, delivery.message.properties);
    } catch (error) {
      if (!(error instanceof MalformedTaskError)) throw error;
      await this.deadLetter(delivery, 'malformed', error, null, life);
      return null;
    }
    if (message.task !== task.name) {
      const error = new Error(`no handler for task ${message.task}`);
      await this.deadLetter(delivery, 'unregistered', error, message, life);
      return null;
    }
    if (message.expires && message.expires.getTime() <= scheduler.date().getTime()) {
      await this.record(message, 'REVOKED', null, new Error('expired before it ran'), life);
      this.ack(delivery, 'revoked', life);
      return null;
    }
    const dueInMs = message.eta ? message.eta.getTime() - scheduler.date().getTime() : 0;
    if (dueInMs > ETA_TOLERANCE_MS) {
      await this.publish(delivery.queue, delivery.message, dueInMs, life);
      this.ack(delivery, 'sent-round', life);
      return null;
    }
    try {
      return { delivery, message, payload: await this.validatePayload(payloadOf(message)) };
    } catch (error) {
      await this.deadLetter(delivery, 'invalid-payload', asError(error), message, life);
      return null;
    }
  }

  /**
   * The runner's own validation (class-validator, whitelist, nothing unknown), called on
   * a `TaskRunner` built without I/O: the method is private, the check is the real one.
   */
  private validatePayload(payload: unknown): Promise<unknown> {
    return payloadValidator['validatePayload'](this.deps.task.options, payload);
  }

  /** The group-commit collector: what arrives while a batch runs leaves together next. */
  private collect(prepared: Prepared, life: Session): void {
    if (!life.alive || this.life !== life) return;
    const key = prepared.delivery.queue;
    const collector = this.collectors.get(key) ?? { queued: [], running: false, scheduled: false };
    this.collectors.set(key, collector);
    collector.queued.push(prepared);
    this.schedule(collector, life);
  }

  private schedule(collector: Collector, life: Session): void {
    if (collector.scheduled || collector.running || collector.queued.length === 0) return;
    collector.scheduled = true;
    // The end of the event-loop turn: what arrives at the same instant joins the batch.
    this.deps.scheduler.at(0, () => {
      collector.scheduled = false;
      if (!life.alive || collector.running) return;
      const batch = this.take(collector);
      collector.running = true;
      this.deps.scheduler.spawn(`${this.name} batch`, async () => {
        const acks = await this.runBatch(batch, life);
        if (this.deps.faults.hit('crash-after-commit')) {
          this.crash('after commit, before ack');
          return;
        }
        for (const prepared of acks) this.ack(prepared.delivery, prepared.outcome, life);
        collector.running = false;
        this.schedule(collector, life);
      });
    });
  }

  private take(collector: Collector): Prepared[] {
    const batch = this.deps.task.options.batch;
    assert(batch !== undefined, 'a batch task');
    const weigh = (p: Prepared): number => Math.max(1, batch.weight?.(p.payload) ?? 1);
    let weight = 0;
    let count = 0;
    for (const queued of collector.queued) {
      if (count > 0 && weight + weigh(queued) > batch.sizeMax) break;
      weight += weigh(queued);
      count += 1;
    }
    return collector.queued.splice(0, count);
  }

  /**
   * `TaskRunner.runBatch`: one transaction for the batch; if it fails, each task alone.
   * Returns the deliveries to acknowledge, each with how it was settled.
   */
  private async runBatch(
    tasks: readonly Prepared[],
    life: Session,
    batchOf = tasks.length,
  ): Promise<{ delivery: Delivery; outcome: DeliveryOutcome }[]> {
    const { db, task } = this.deps;
    const tx = db.begin(life, 'batch');
    tx.batchSize = batchOf;
    try {
      // A task published twice may arrive twice in one batch: the first copy claims it.
      const distinct = [...new Map(tasks.map((t) => [t.message.id, t])).values()];
      const claimed = await db.claimInbox(
        tx,
        distinct.map((t) => t.message.id),
      );
      const fresh = distinct.filter((t) => claimed.has(t.message.id));
      if (fresh.length > 0) {
        const results = await task.handler(
          tx,
          fresh.map((t) => t.payload),
        );
        assert(results.length === fresh.length, 'a batch handler returns one result per task');
        await db.writeResults(
          tx,
          fresh.map((t, i) => resultRow(t.message, 'SUCCESS', results[i], null)),
        );
      }
      const settled = tasks.map((t) => ({ delivery: t.delivery, outcome: 'success' as const }));
      if (this.deps.ackBeforeCommit) {
        for (const { delivery, outcome } of settled) this.ack(delivery, outcome, life);
      }
      await db.commit(tx);
      this.deps.trace(
        this.name,
        `commit ${fresh.map((t) => t.message.id).join(',')}${fresh.length < tasks.length ? ` (${tasks.length - fresh.length} seen)` : ''}`,
      );
      return this.deps.ackBeforeCommit ? [] : settled;
    } catch (error) {
      db.rollback(tx);
      const [first] = tasks;
      if (tasks.length === 1 && first) {
        return [
          { delivery: first.delivery, outcome: await this.fail(first, asError(error), life) },
        ];
      }
      this.deps.trace(
        this.name,
        `batch of ${tasks.length} failed (${asError(error).message}): one by one`,
      );
      const settled: { delivery: Delivery; outcome: DeliveryOutcome }[] = [];
      for (const one of tasks) settled.push(...(await this.runBatch([one], life, tasks.length)));
      return settled;
    }
  }

  /** `TaskRunner.fail`: retry through the delay levels while the policy allows, else dead-letter. */
  private async fail(task: Prepared, error: Error, life: Session): Promise<DeliveryOutcome> {
    const { options } = this.deps.task;
    const { message, delivery } = task;
    if (shouldRetry(options, error, message.retries)) {
      const delayMs = retryDelayMs(options, message.retries, () => this.deps.random.float());
      const again = encodeTask({
        ...message,
        retries: message.retries + 1,
        eta: new Date(this.deps.scheduler.date().getTime() + delayMs),
        origin: this.name,
        embed: message.embed,
      });
      await this.publish(delivery.queue, again, delayMs, life);
      await this.record(message, 'RETRY', null, error, life);
      this.deps.trace(
        this.name,
        `retry ${message.id} #${message.retries + 1} in ${delayMs} ms: ${error.message}`,
      );
      return 'retry';
    }
    const reason = isRetryable(options, error) ? 'retries-exhausted' : 'failed';
    await this.deadLetter(delivery, reason, error, message, life, false);
    return 'dead-letter';
  }

  /** `publishDeadLetter` then FAILURE (when the message is a task), then the ack. */
  private async deadLetter(
    delivery: Delivery,
    reason: string,
    error: Error,
    message: TaskMessage | null,
    life: Session,
    ack = true,
  ): Promise<void> {
    const { broker, scheduler } = this.deps;
    const letter = {
      queue: delivery.queue,
      taskId: delivery.message.taskId,
      reason,
      error: error.message,
    };
    await scheduler.suspend<undefined>((resume) => {
      broker.deadLetter(letter, () => {
        if (life.alive) resume(undefined);
      });
    });
    this.deps.trace(
      this.name,
      `dead-letter ${letter.taskId} ${reason}: ${error.message.slice(0, 80)}`,
    );
    if (message) await this.record(message, 'FAILURE', null, error, life);
    if (ack) this.ack(delivery, 'dead-letter', life);
  }

  private async record(
    message: TaskMessage,
    state: ResultRow['state'],
    result: unknown,
    error: Error,
    life: Session,
  ): Promise<void> {
    await this.deps.db.recordResult(life, resultRow(message, state, result, error));
  }

  private publish(
    queue: string,
    message: EncodedTask,
    delayMs: number,
    life: Session,
  ): Promise<void> {
    return this.deps.scheduler.suspend<undefined>((resume) => {
      this.deps.broker.publish(queue, message, delayMs, () => {
        if (life.alive) resume(undefined);
      });
    });
  }

  private ack(delivery: Delivery, outcome: DeliveryOutcome, life: Session): void {
    if (!life.alive) return;
    delivery.outcome = outcome;
    this.deps.broker.ack(delivery);
  }
}

function resultRow(
  message: TaskMessage,
  state: ResultRow['state'],
  result: unknown,
  error: Error | null,
): ResultRow {
  return {
    id: message.id,
    task: message.task,
    state,
    result,
    retries: message.retries,
    errorType: error?.name ?? null,
    errorMessage: error?.message ?? null,
  };
}
