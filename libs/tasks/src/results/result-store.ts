import { strict as assert } from 'node:assert';
import { Logger } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { preparedStatement, readCommitted } from '@clearline/persistence';
import type { Publisher } from '../broker/publisher';
import {
  leadsOn,
  NOTHING_STAGED,
  WorkflowContinuations,
  type AfterCommit,
  type FinishedTask,
} from '../canvas/workflow-continuations';
import { outsideTask } from '../canvas/workflow-scope';
import { readTree, type WorkflowTree } from '../canvas/workflow-tree';
import type { TaskMessage } from '../protocol/celery-message';
import { ORIGIN } from '../client/task-message-factory';
import { OUTBOX_BATCH_MAX, OutboxStatement, outboxSender } from '../outbox/task-outbox';
import { splitIgnored } from '../control/ignored-results';
import { isReady, type ResultUpdate, type TaskResultRecord, type TaskState } from './task-state';

export const RESULTS_CHANNEL = 'clearline_task_results';
const BATCH_SIZE_MAX = 1_000;
/** PostgreSQL refuses notification payloads of 8000 bytes or more. */
const NOTIFY_PAYLOAD_MAX = 7_900;

/** A JSON `\u0000` escape that is not itself an escaped backslash's text. */
const JSON_NUL = /(?<!\\)((?:\\\\)*)\\u0000/g;

/**
 * JSON that carries bigint amounts as decimal strings instead of throwing, and NUL
 * characters as U+FFFD: PostgreSQL's jsonb refuses `\u0000`, and one handler's odd result
 * must not fail the statement that writes a batch of others'.
 */
export function toJson(value: unknown): string | null {
  if (value === undefined) return null;
  // Undefined for what JSON has no form of (a function): stored as null.
  const text = JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'bigint' ? v.toString() : v,
  ) as string | undefined;
  if (text === undefined) return null;
  return text.includes('\\u0000') ? text.replace(JSON_NUL, '$1\\ufffd') : text;
}

/** Text PostgreSQL can store: NUL characters become U+FFFD. */
function storableText(text: string | null | undefined): string | null {
  if (text === undefined || text === null) return null;
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\ufffd') : text;
}

/** The columns a batch of state changes arrives in, as `unnest` arrays, in order. */
const RESULT_INPUT = `$1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[],
                         $7::text[], $8::text[], $9::int[], $10::text[], $11::text[], $12::text[], $13::text[],
                         $14::int[]`;
const RESULT_INPUT_COLUMNS = `id, task, queue, state, result, error_type, error_message, traceback, retries,
           root_id, parent_id, group_id, worker, group_index`;

/** `RESULT_INPUT` with its parameters numbered from `first` instead of 1. */
function resultInput(first: number): string {
  return RESULT_INPUT.replace(/\$(\d+)/g, (_all, n: string) => `$${Number(n) + first - 1}`);
}

/**
 * The CTEs that upsert state changes from `incoming` (a CTE of `RESULT_INPUT_COLUMNS`)
 * into `task_results` (`<prefix>written`) and build the notification of each finished
 * one (`<prefix>payloads`). A finished state is never overwritten by an earlier one from a
 * late duplicate, and SUCCESS never at all: the task's effects committed, whatever a late
 * copy of it (one that ran out of retries before its inbox claim, a revoke that came too
 * late) records.
 */
function resultWriteCtes(incoming: string, prefix: string): string {
  return `${prefix}written AS (
    INSERT INTO task_results AS t
      (id, task, queue, state, result, error_type, error_message, traceback, retries,
       root_id, parent_id, group_id, worker, group_index, started_at, date_done, updated_at)
    SELECT id, task, queue, state, result, error_type, error_message, traceback, retries,
           root_id, parent_id, group_id, worker, group_index,
           CASE WHEN state = 'STARTED' THEN now() END,
           CASE WHEN state IN ('SUCCESS', 'FAILURE', 'REVOKED') THEN now() END,
           now()
      FROM ${incoming}
    ON CONFLICT (id) DO UPDATE SET
      task = excluded.task,
      queue = coalesce(excluded.queue, t.queue),
      state = excluded.state,
      result = excluded.result,
      error_type = excluded.error_type,
      error_message = excluded.error_message,
      traceback = excluded.traceback,
      retries = excluded.retries,
      worker = coalesce(excluded.worker, t.worker),
      started_at = coalesce(t.started_at, excluded.started_at),
      date_done = excluded.date_done,
      updated_at = now()
    WHERE t.state <> 'SUCCESS'
      AND (t.state NOT IN ('FAILURE', 'REVOKED') OR excluded.state IN ('SUCCESS', 'FAILURE', 'REVOKED'))
    RETURNING t.id, t.task, t.queue, t.state, t.result, t.error_type, t.error_message, t.retries,
              t.root_id, t.parent_id, t.group_id, t.worker, t.created_at, t.started_at, t.date_done
  ), ${prefix}payloads AS (
    SELECT id, json_build_object(
             'id', id, 'task', task, 'queue', queue, 'state', state, 'result', result,
             'error_type', error_type, 'error_message', error_message, 'retries', retries,
             'root_id', root_id, 'parent_id', parent_id, 'group_id', group_id, 'worker', worker,
             'created_at', created_at, 'started_at', started_at, 'date_done', date_done)::text AS body
      FROM ${prefix}written WHERE state IN ('SUCCESS', 'FAILURE', 'REVOKED')
  )`;
}

/**
 * The finished rows travel in the notification, so a waiting caller needs no query; a row
 * too big for a notification sends its id only and the caller reads it. A scalar.
 */
function notifyResults(payloads: string): string {
  return `(SELECT count(pg_notify('${RESULTS_CHANNEL}',
           CASE WHEN octet_length(body) < ${NOTIFY_PAYLOAD_MAX} THEN body ELSE json_build_object('id', id)::text END))
      FROM ${payloads})`;
}

/**
 * One statement upserts a batch of state changes and, for finished tasks, notifies
 * waiting callers; PostgreSQL delivers the notifications only when the rows commit.
 */
const UPSERT_SQL = preparedStatement(`
  WITH incoming AS (
    SELECT * FROM unnest(${RESULT_INPUT})
      AS r(${RESULT_INPUT_COLUMNS})
  ), ${resultWriteCtes('incoming', '')}
  -- The finished row travels in the notification.
  SELECT ${notifyResults('payloads')} AS notified`);

/**
 * The upsert with a chain's next tasks (or callbacks) written into the outbox by the
 * same statement: atomic without a transaction, one round trip per batch. PostgreSQL
 * runs a data-modifying CTE whether or not the final SELECT reads it.
 */
const UPSERT_END = '  -- The finished row travels in the notification.';
assert(UPSERT_SQL.includes(UPSERT_END), 'the upsert ends with its notifying SELECT');
function upsertWithOutboxSql(outbox: OutboxStatement): string {
  const [ctes, end] = [
    UPSERT_SQL.slice(0, UPSERT_SQL.indexOf(UPSERT_END)),
    UPSERT_SQL.slice(UPSERT_SQL.indexOf(UPSERT_END)),
  ];
  return preparedStatement(`${ctes}, follow_ups AS (${outbox.insert(outbox.rows('o'))})\n${end}`);
}

/** Successes of tasks that ignore their result: notified to waiters, never stored. */
const NOTIFY_ONLY_SQL =
  preparedStatement(`SELECT count(pg_notify('${RESULTS_CHANNEL}', body)) AS notified
                           FROM unnest($1::text[]) AS body`);

const GET_MANY_SQL = preparedStatement(
  `SELECT id, task, queue, state, result, error_type, error_message, traceback, retries,
          root_id, parent_id, group_id, worker, created_at, started_at, date_done
     FROM task_results WHERE id = ANY($1::text[])`,
);

type Query = (sql: string, parameters: unknown[]) => Promise<unknown>;

/** The upsert, honouring `ignoreResult` (see splitIgnored): at most two statements. */
async function upsert(query: Query, updates: readonly ResultUpdate[]): Promise<void> {
  const { stored, notified } = splitIgnored(updates, NOTIFY_PAYLOAD_MAX);
  if (stored.length > 0) await query(UPSERT_SQL, toParameters(stored));
  if (notified.length > 0) await query(NOTIFY_ONLY_SQL, [notified]);
}

function toParameters(updates: readonly ResultUpdate[]): unknown[][] {
  const columns: unknown[][] = Array.from({ length: 14 }, () => []);
  for (const u of updates) {
    const row = [
      u.id,
      u.task,
      u.queue,
      u.state,
      toJson(u.result),
      storableText(u.errorType),
      storableText(u.errorMessage),
      storableText(u.traceback),
      u.retries,
      u.rootId ?? null,
      u.parentId ?? null,
      u.groupId ?? null,
      u.worker ?? null,
      u.groupIndex ?? null,
    ];
    row.forEach((value, column) => columns[column]?.push(value));
  }
  return columns;
}

export interface RawResultRow {
  id: string;
  task: string;
  queue: string | null;
  state: TaskState;
  result: unknown;
  error_type: string | null;
  error_message: string | null;
  traceback: string | null;
  retries: number;
  root_id: string | null;
  parent_id: string | null;
  group_id: string | null;
  worker: string | null;
  created_at: Date;
  started_at: Date | null;
  date_done: Date | null;
}

export function toRecord(row: RawResultRow): TaskResultRecord {
  return {
    id: row.id,
    task: row.task,
    queue: row.queue,
    state: row.state,
    result: row.result,
    errorType: row.error_type,
    errorMessage: row.error_message,
    traceback: row.traceback,
    retries: row.retries,
    rootId: row.root_id,
    parentId: row.parent_id,
    groupId: row.group_id,
    worker: row.worker,
    createdAt: row.created_at,
    startedAt: row.started_at,
    dateDone: row.date_done,
  };
}

interface QueuedUpdate {
  update: ResultUpdate;
  /** The finished task's message, when its workflow may continue from here. */
  message: TaskMessage | undefined;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * The result backend: task states in PostgreSQL.
 *
 * `write` batches: updates that arrive while a batch is being written go into the
 * next one, so under load one statement and one commit carry hundreds of results,
 * and with nothing else in flight a result is written at once.
 */
export class ResultStore {
  private readonly logger = new Logger(ResultStore.name);
  private queued: QueuedUpdate[] = [];
  private flushing: Promise<void> | null = null;
  private readonly workflows: WorkflowContinuations | null;

  /** With a publisher, a finished task's workflow continues (chain, callbacks, chord). */
  constructor(
    private readonly dataSource: DataSource,
    publisher?: Publisher,
  ) {
    this.workflows = publisher
      ? new WorkflowContinuations(dataSource, publisher, (manager, updates) =>
          this.writeManyIn(manager, updates),
        )
      : null;
  }

  /**
   * Records a state change; resolves once it is committed. With the task's `message`,
   * where its workflow leads (next chain task, callbacks, chord join) commits with it.
   */
  write(update: ResultUpdate, message?: TaskMessage): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queued.push({ update, message, resolve, reject });
      // The flush serves every task: it must not run as the handler that started it.
      if (!this.flushing) this.flushing = outsideTask(() => this.flushLoop());
    });
  }

  /**
   * Records a state change inside the caller's transaction (it commits with the effects),
   * and with `message` stages where the task's workflow leads; call the returned function
   * once the transaction committed, to publish the follow-ups at once.
   */
  async writeIn(
    manager: EntityManager,
    update: ResultUpdate,
    message?: TaskMessage,
  ): Promise<AfterCommit> {
    return this.writeManyIn(manager, [update], message ? [message] : undefined);
  }

  /** `writeIn` for many tasks, in one statement; ids must be distinct. */
  async writeManyIn(
    manager: EntityManager,
    updates: readonly ResultUpdate[],
    messages?: readonly TaskMessage[],
  ): Promise<AfterCommit> {
    if (updates.length === 0) return NOTHING_STAGED;
    await upsert((sql, parameters) => manager.query(sql, parameters), updates);
    if (!this.workflows || !messages) return NOTHING_STAGED;
    const finished = updates.flatMap((update, i): FinishedTask[] => {
      const message = messages[i];
      return message && leadsOn(message, update.state) ? [{ update, message }] : [];
    });
    return finished.length > 0 ? this.workflows.stage(manager, finished) : NOTHING_STAGED;
  }

  /**
   * One batch: a single statement, or, when a task's workflow continues, one
   * transaction with its follow-ups (so they are sent exactly when the result is).
   */
  private async writeBatch(latest: Map<string, QueuedUpdate>): Promise<void> {
    const items = [...latest.values()];
    const updates = items.map((item) => item.update);
    const workflows = this.workflows;
    if (!workflows || !items.some((i) => i.message && leadsOn(i.message, i.update.state))) {
      await upsert((sql, parameters) => this.dataSource.query(sql, parameters), updates);
      return;
    }
    const messages = items.map((item) => item.message);
    const finishedNow = items.flatMap(({ update }, i): FinishedTask[] => {
      const message = messages[i];
      return message && leadsOn(message, update.state) ? [{ update, message }] : [];
    });
    // A chain's hot path: results and next tasks in one statement, no transaction.
    const followUps = workflows.followUpsOf(finishedNow);
    const { notified } = splitIgnored(updates, NOTIFY_PAYLOAD_MAX);
    if (followUps && followUps.length <= OUTBOX_BATCH_MAX && notified.length === 0) {
      const outbox = OutboxStatement.of(followUps, { firstParameter: 15, sentBy: 'writer' });
      await this.dataSource.query(upsertWithOutboxSql(outbox), [
        ...toParameters(updates),
        ...outbox.parameters,
      ]);
      workflows.sendCommitted(outbox)();
      return;
    }
    const afterCommit = await readCommitted(this.dataSource, async (manager) => {
      await upsert((sql, parameters) => manager.query(sql, parameters), updates);
      const finished = items.flatMap(({ update }, i): FinishedTask[] => {
        const message = messages[i];
        return message && leadsOn(message, update.state) ? [{ update, message }] : [];
      });
      return workflows.stage(manager, finished);
    });
    afterCommit();
  }

  /**
   * A workflow as a tree (root, parents, groups) read from `task_results`, for
   * operators: at most `nodeCountMax` nodes (`truncated` says when there were more).
   */
  tree(rootId: string, options: { nodeCountMax?: number } = {}): Promise<WorkflowTree> {
    return readTree(this.dataSource, rootId, options.nodeCountMax);
  }

  private async flushLoop(): Promise<void> {
    // Let updates from the same tick join the first batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.queued.length > 0) {
      const batch = this.queued.splice(0, BATCH_SIZE_MAX);
      // Within one statement a row may change once: keep the last update per task.
      const latest = new Map<string, QueuedUpdate>();
      for (const item of batch) latest.set(item.update.id, item);
      try {
        await this.writeBatch(latest);
        for (const item of batch) item.resolve();
      } catch (error) {
        this.logger.error(`writing ${batch.length} task results failed: ${String(error)}`);
        if (latest.size === 1) for (const item of batch) item.reject(error);
        else await this.writeOneByOne(batch, latest);
      }
    }
    this.flushing = null;
  }

  /**
   * A batch that failed is written again task by task, so one task whose result or
   * workflow follow-ups cannot commit (a poisoned one) fails alone, not its batch.
   */
  private async writeOneByOne(
    batch: readonly QueuedUpdate[],
    latest: Map<string, QueuedUpdate>,
  ): Promise<void> {
    for (const [id, item] of latest) {
      const sameTask = batch.filter((queued) => queued.update.id === id);
      try {
        await this.writeBatch(new Map([[id, item]]));
        for (const queued of sameTask) queued.resolve();
      } catch (error) {
        for (const queued of sameTask) queued.reject(error);
      }
    }
  }

  async get(id: string): Promise<TaskResultRecord | null> {
    const [record] = await this.getMany([id]);
    return record ?? null;
  }

  async getMany(ids: readonly string[]): Promise<TaskResultRecord[]> {
    const rows: RawResultRow[] = await this.dataSource.query(GET_MANY_SQL, [ids]);
    return rows.map(toRecord);
  }

  /** Waits until every queued update is written (graceful shutdown). */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
    await this.workflows?.drain();
  }
}

/** A finished task's result, for a {@link ResultStatement}: paired with the key of the writer's row it belongs to. */
export type KeyedResult = ResultUpdate & { key: string };

/**
 * Results of tasks their writer ran in place of publishing them, for a statement of the
 * writer's own (a statement part, as `OutboxStatement` is): the writer's rows, the results
 * and their notifications commit atomically, in one round trip. A result is written only
 * for the keys the statement keeps (its `keysCte`), and the task's outbox row — written
 * `sentBy: 'writer'`, so the relay leaves it alone for the grace — is marked sent in the
 * same statement: the task ran, so it is never published. A result already recorded as
 * SUCCESS (the task ran elsewhere as well) is kept, as the upsert does.
 */
export class ResultStatement {
  private constructor(
    /** The statement parameters, in order from `firstParameter`. */
    readonly parameters: unknown[],
    private readonly firstParameter: number,
  ) {}

  /** Results numbered from `firstParameter` (`$n`). Only finished, stored results belong here. */
  static of(results: readonly KeyedResult[], firstParameter: number): ResultStatement {
    for (const result of results) {
      if (result.ignoreResult === true || !isReady(result.state)) {
        throw new Error(`result statement: ${result.id} is not a finished, stored result`);
      }
    }
    // The task ran here: this process is its worker, as for a task it consumed.
    const ran = results.map((result) => ({ ...result, worker: result.worker ?? ORIGIN }));
    return new ResultStatement(
      [ran.map((result) => result.key), ...toParameters(ran), outboxSender.user],
      firstParameter,
    );
  }

  /**
   * CTEs `result_in`, `result_written`, `result_payloads` and `result_ran`: the results of
   * the keys in `keysCte` (a CTE with a `key` column), and their tasks' outbox rows marked
   * sent.
   */
  ctes(keysCte: string): string {
    const first = this.firstParameter;
    const sender = first + 15;
    return `result_in AS (
    SELECT r.* FROM unnest($${first}::text[], ${resultInput(first + 1)})
      AS r(key, ${RESULT_INPUT_COLUMNS})
     WHERE r.key IN (SELECT key FROM ${keysCte})
  ), ${resultWriteCtes('result_in', 'result_')}, result_ran AS (
    UPDATE task_outbox SET sent_at = now()
     WHERE sender IN ('', $${sender}::text) AND sent_at IS NULL
       AND task_id IN (SELECT id FROM result_in)
    RETURNING 1
  )`;
  }

  /** A scalar expression for the statement's final SELECT: notifies the results' waiters. */
  notify(): string {
    return notifyResults('result_payloads');
  }
}
