import type { TaskClient } from '@clearline/tasks';
import { TaskFailedError, TaskTimeoutError } from '@clearline/tasks';
import { buildTask } from '../../tasks/src/client/task-message-factory';
import type { EncodedTask } from '../../tasks/src/protocol/celery-message';
import type { SimBroker } from './broker';
import type { MemoryDatabase, ResultRow } from './database';
import type { Faults } from './faults';
import type { Scheduler } from './scheduler';

export interface SimTaskClientDeps {
  scheduler: Scheduler;
  broker: SimBroker;
  db: MemoryDatabase;
  faults: Faults;
  trace: (actor: string, what: string) => void;
  reconnectMs: () => number;
}

/**
 * What `TaskClient` is to `LedgerClient`: `send` encodes and routes with the task
 * layer's own `buildTask` (Celery protocol 2, the queue from the routes), publishes
 * with a confirm, and returns a handle whose `result` waits for the committed result
 * row until its deadline, then throws the task layer's `TaskTimeoutError`, or
 * `TaskFailedError` for a FAILURE. A lost confirm makes it publish the same message
 * again, as the publisher does on its next connection.
 */
export class SimTaskClient {
  constructor(
    private readonly name: string,
    private readonly deps: SimTaskClientDeps,
  ) {}

  /** Typed as the real client for the code that takes one (`new LedgerClient(client)`). */
  asTaskClient(): TaskClient {
    return this as unknown as TaskClient;
  }

  async send(
    task: string,
    payload: unknown,
    options: { id?: string; queue?: string } = {},
  ): Promise<{ result: (options?: { timeoutMs?: number }) => Promise<unknown> }> {
    const routed = buildTask(task, payload, options);
    this.deps.trace(this.name, `send ${routed.id} -> ${routed.queue}`);
    await this.publish(routed.queue, routed.encoded);
    if (this.deps.faults.hit('lost-confirm')) {
      this.deps.trace(this.name, `confirm lost ${routed.id}: publish again`);
      await this.deps.scheduler.sleep(this.deps.reconnectMs());
      await this.publish(routed.queue, routed.encoded);
    }
    return {
      result: (resultOptions) => this.result(routed.id, resultOptions?.timeoutMs ?? 30_000),
    };
  }

  /** Publishes bytes as they are (a poison message); no result is awaited. */
  async sendRaw(queue: string, encoded: EncodedTask): Promise<void> {
    this.deps.trace(this.name, `send poison ${String(encoded.properties.messageId)} -> ${queue}`);
    await this.publish(queue, encoded);
  }

  private publish(queue: string, encoded: EncodedTask): Promise<void> {
    return this.deps.scheduler.suspend<undefined>((resume) => {
      this.deps.broker.publish(queue, encoded, 0, () => resume(undefined));
    });
  }

  private async result(id: string, timeoutMs: number): Promise<unknown> {
    const { db, scheduler } = this.deps;
    let row = finished(db.committed.results.get(id));
    if (!row) {
      await scheduler.suspend<undefined>((resume) => {
        db.onResult(id, () => resume(undefined));
        scheduler.at(timeoutMs, () => resume(undefined));
      });
      row = finished(db.committed.results.get(id));
    }
    if (!row) {
      this.deps.trace(this.name, `timeout ${id}`);
      throw new TaskTimeoutError(id, timeoutMs);
    }
    if (row.state === 'SUCCESS') return row.result;
    throw new TaskFailedError({
      id,
      task: row.task,
      queue: null,
      state: row.state,
      result: null,
      errorType: row.errorType,
      errorMessage: row.errorMessage,
      traceback: null,
      retries: row.retries,
      rootId: id,
      parentId: null,
      groupId: null,
      worker: null,
      createdAt: scheduler.date(),
      startedAt: null,
      dateDone: scheduler.date(),
    });
  }
}

function finished(row: ResultRow | undefined): ResultRow | undefined {
  return row && (row.state === 'SUCCESS' || row.state === 'FAILURE' || row.state === 'REVOKED')
    ? row
    : undefined;
}
