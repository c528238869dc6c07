import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { RESULTS_CHANNEL, toRecord, type RawResultRow, type ResultStore } from './result-store';
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

/** How json_build_object('id', …) begins the text of a notification. */
const ID_PREFIX = '{"id" : "';

/** The task id a notification's payload begins with; null when it cannot be read so. */
export function leadingId(payload: string): string | null {
  if (!payload.startsWith(ID_PREFIX)) return null;
  const end = payload.indexOf('"', ID_PREFIX.length);
  if (end < 0) return null;
  const id = payload.slice(ID_PREFIX.length, end);
  // An escaped quote or backslash in the id: leave it to the JSON parser.
  return id.includes('\\') ? null : id;
}

/** How long opening the LISTEN connection may take; a wait starts only after it. */
const LISTENER_CONNECT_TIMEOUT_MS = 5_000;

/** Outcomes caught before anyone waited, kept for at most this many tasks. */
const EXPECTED_COUNT_MAX = 20_000;

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
  private readonly toCheck = new Set<string>();
  /**
   * Tasks sent while the listener was up: their notification cannot be missed, so
   * waiting for them needs no read. Holds the finished record if it came first.
   * Bounded: the oldest entries go first (their waiters fall back to a read).
   */
  private readonly expected = new Map<string, TaskResultRecord | 'read' | null>();
  private client: Client | null = null;
  private connecting: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly databaseUrl: string,
    private readonly store: ResultStore,
  ) {}

  /** Called before a task is published, so its outcome is caught even if nobody waits yet. */
  expect(taskId: string): void {
    if (!this.client) return;
    this.expected.set(taskId, null);
    if (this.expected.size > EXPECTED_COUNT_MAX) {
      const oldest = this.expected.keys().next();
      if (!oldest.done) this.expected.delete(oldest.value);
    }
  }

  async wait(taskId: string, timeoutMs: number): Promise<TaskResultRecord> {
    await this.listen();
    const caught = this.expected.get(taskId);
    this.expected.delete(taskId);
    if (caught && caught !== 'read') return caught;
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
      // Expected and not yet finished: the notification will come. Otherwise read the row,
      // registered first so that a result committed in between is not missed.
      if (caught !== null) this.check(taskId);
    });
  }

  private remove(taskId: string, waiter: Waiter): void {
    const set = this.waiters.get(taskId);
    set?.delete(waiter);
    if (set?.size === 0) this.waiters.delete(taskId);
  }

  /** Reads the rows of these tasks (batched per tick) and wakes those that are finished. */
  private check(taskId: string): void {
    this.toCheck.add(taskId);
    if (this.toCheck.size === 1) setImmediate(() => void this.checkQueued());
  }

  private async checkQueued(): Promise<void> {
    const ids = [...this.toCheck];
    this.toCheck.clear();
    try {
      for (const record of await this.store.getMany(ids)) {
        if (isReady(record.state)) this.wake(record);
      }
    } catch (error) {
      this.logger.warn(`reading ${ids.length} results failed: ${String(error)}`);
    }
  }

  private wake(record: TaskResultRecord): void {
    for (const waiter of [...(this.waiters.get(record.id) ?? [])]) waiter(record);
  }

  /** A SUCCESS or REVOKED row arrives whole in the notification; failures are read for their traceback. */
  private onNotification(payload: string | undefined): void {
    if (!payload) return;
    // Every result of the database comes here; most are other processes'. Their id leads
    // the payload (`{"id" : "…"`): skip those before parsing the row.
    const id = leadingId(payload);
    if (id !== null && !this.waiters.has(id) && !this.expected.has(id)) return;
    let row: Partial<RawResultRow> & { id?: string };
    try {
      row = JSON.parse(payload) as Partial<RawResultRow>;
    } catch {
      return;
    }
    if (!row.id) return;
    const waited = this.waiters.has(row.id);
    if (!waited && !this.expected.has(row.id)) return;
    if (row.state === 'SUCCESS' || row.state === 'REVOKED') {
      const record = toRecord({
        ...(row as RawResultRow),
        traceback: null,
        created_at: new Date(row.created_at ?? Date.now()),
        started_at: row.started_at ? new Date(row.started_at) : null,
        date_done: row.date_done ? new Date(row.date_done) : null,
      });
      if (waited) this.wake(record);
      else this.expected.set(row.id, record);
    } else if (waited) {
      this.check(row.id);
    } else {
      this.expected.set(row.id, 'read');
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
      // A database that does not answer must not hold the caller: connecting has a deadline.
      connectionTimeoutMillis: LISTENER_CONNECT_TIMEOUT_MS,
      keepAlive: true,
    });
    client.on('notification', (message) => {
      this.onNotification(message.payload);
    });
    client.on('error', (error) => {
      this.logger.warn(`result listener lost: ${error.message}`);
      this.client = null;
      // Notifications may be lost from here on: every expected task must be read.
      this.expected.clear();
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
        for (const id of this.waiters.keys()) this.check(id);
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
