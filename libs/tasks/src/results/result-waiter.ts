import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { RESULTS_CHANNEL, type ResultStore } from './result-store';
import { isReady, type TaskResultRecord } from './task-state';

export class TaskTimeoutError extends Error {
  override readonly name = 'TaskTimeoutError';
  constructor(
    readonly taskId: string,
    readonly timeoutMs: number,
  ) {
    super(`task ${taskId} did not finish within ${timeoutMs} ms`);
  }
}

type Waiter = (record: TaskResultRecord) => void;

/**
 * Wakes callers waiting for task outcomes, from PostgreSQL notifications.
 *
 * One dedicated connection LISTENs; a waiter is registered before the row is read,
 * so an outcome committed between the two is never missed. No polling.
 */
export class ResultWaiter {
  private readonly logger = new Logger(ResultWaiter.name);
  private readonly waiters = new Map<string, Set<Waiter>>();
  private client: Client | null = null;
  private connecting: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly databaseUrl: string,
    private readonly store: ResultStore,
  ) {}

  async wait(taskId: string, timeoutMs: number): Promise<TaskResultRecord> {
    await this.listen();
    return new Promise<TaskResultRecord>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.remove(taskId, waiter);
        reject(new TaskTimeoutError(taskId, timeoutMs));
      }, timeoutMs);
      const waiter: Waiter = (record) => {
        clearTimeout(timer);
        this.remove(taskId, waiter);
        resolve(record);
      };
      const set = this.waiters.get(taskId) ?? new Set<Waiter>();
      set.add(waiter);
      this.waiters.set(taskId, set);
      void this.check(taskId);
    });
  }

  private remove(taskId: string, waiter: Waiter): void {
    const set = this.waiters.get(taskId);
    set?.delete(waiter);
    if (set?.size === 0) this.waiters.delete(taskId);
  }

  private async check(taskId: string): Promise<void> {
    try {
      const record = await this.store.get(taskId);
      if (record && isReady(record.state)) {
        for (const waiter of [...(this.waiters.get(taskId) ?? [])]) waiter(record);
      }
    } catch (error) {
      this.logger.warn(`reading result ${taskId} failed: ${String(error)}`);
    }
  }

  private listen(): Promise<void> {
    if (this.client) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async connect(): Promise<void> {
    const client = new Client({
      connectionString: this.databaseUrl,
      application_name: 'clearline-results',
    });
    client.on('notification', (message) => {
      if (message.payload && this.waiters.has(message.payload)) void this.check(message.payload);
    });
    client.on('error', (error) => {
      this.logger.warn(`result listener lost: ${error.message}`);
      this.client = null;
      void client.end().catch(() => undefined);
      if (!this.closed) void this.reconnect();
    });
    await client.connect();
    await client.query(`LISTEN ${RESULTS_CHANNEL}`);
    this.client = client;
  }

  /** After a lost listener, outcomes may have been missed: read every awaited row again. */
  private async reconnect(): Promise<void> {
    for (let attempt = 1; !this.closed; attempt += 1) {
      try {
        await this.listen();
        await Promise.all([...this.waiters.keys()].map((id) => this.check(id)));
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 100 * 2 ** attempt)));
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = null;
    if (client) await client.end().catch(() => undefined);
  }
}
