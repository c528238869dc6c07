import { Logger } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { preparedStatement } from '@clearline/persistence';
import type { Publisher } from '../broker/publisher';
import { defaultQueue } from '../client/send-options';
import { CommittedOutbox, updatedRows } from '../outbox/committed-outbox';
import { OUTBOX_BATCH_MAX, OutboxStatement, type OutboxMessage } from '../outbox/task-outbox';
import type { TaskMessage } from '../protocol/celery-message';
import type { ResultUpdate } from '../results/task-state';
import { dictList, fromDict, type SignatureDict } from './signature-dict';
import { followUp, type WorkflowTask } from './workflow-plan';

/** A task that just finished, with the state change recorded for it. */
export interface FinishedTask {
  message: TaskMessage;
  update: ResultUpdate;
}

/** Publishes what a transaction staged; call it once the transaction committed. */
export type AfterCommit = () => void;

export const NOTHING_STAGED: AfterCommit = () => undefined;

type WriteResults = (manager: EntityManager, updates: ResultUpdate[]) => Promise<unknown>;

interface ChordFired {
  id: string;
  callback: SignatureDict;
  root_id: string | null;
}

function isChordMember(message: TaskMessage): boolean {
  return message.group !== null && message.groupIndex !== null && message.embed.chord !== null;
}

/**
 * Whether finishing `message` in `state` sends anything (so the result must be written
 * in a transaction with it): a chain's next task, callbacks, errbacks, a chord's join.
 */
export function leadsOn(message: TaskMessage, state: ResultUpdate['state']): boolean {
  const { embed } = message;
  if (state === 'SUCCESS')
    return isChordMember(message) || !!embed.chain?.length || !!embed.callbacks?.length;
  if (state === 'FAILURE') return isChordMember(message) || !!embed.errbacks?.length;
  return false;
}

/** `Dependency <id> raised <ErrorType>('<message>')`, as Celery words a chord's failure. */
export function chordErrorMessage(memberId: string, errorType: string, message: string): string {
  return `Dependency ${memberId} raised ${errorType}('${message.replace(/'/g, "\\'")}')`;
}

/**
 * Where a finished task leads, written in the transaction of its result: the next task
 * of its chain, its `link` or `link_error` callbacks, its chord's join (and, for the
 * last member, the callback with every result in order). Follow-ups are outbox rows, so
 * they are sent once whatever crashes; right after the commit this process publishes
 * them itself and marks them sent, and the outbox relay is the safety net.
 */
export class WorkflowContinuations {
  private readonly logger = new Logger(WorkflowContinuations.name);
  private readonly outbox: CommittedOutbox;

  constructor(
    dataSource: DataSource,
    publisher: Publisher,
    private readonly writeResults: WriteResults,
  ) {
    this.outbox = new CommittedOutbox(dataSource, publisher);
  }

  /** Stages the follow-ups of `finished` in `manager`'s transaction. */
  async stage(manager: EntityManager, finished: readonly FinishedTask[]): Promise<AfterCommit> {
    const tasks: WorkflowTask[] = [];
    const joins: FinishedTask[] = [];
    const failures: FinishedTask[] = [];
    for (const item of finished) {
      const { message, update } = item;
      if (!leadsOn(message, update.state)) continue;
      if (update.state === 'SUCCESS') {
        tasks.push(...this.onSuccess(message, update.result));
        if (isChordMember(message)) joins.push(item);
      } else {
        tasks.push(...errbacksOf(message, dictList(message.embed.errbacks), message.id));
        if (isChordMember(message)) failures.push(item);
      }
    }
    if (joins.length > 0) tasks.push(...(await this.join(manager, joins)));
    if (failures.length > 0) tasks.push(...(await this.failChords(manager, failures)));
    if (tasks.length === 0) return NOTHING_STAGED;
    const messages = await insertOutbox(manager, tasks);
    return () => this.outbox.sendMessages(messages);
  }

  /**
   * The follow-ups of tasks none of which is a chord member (a chain's next task,
   * callbacks, errbacks): known without reading anything, so they can be written in the
   * very statement of the results. Null when a chord must be joined or failed.
   */
  followUpsOf(finished: readonly FinishedTask[]): WorkflowTask[] | null {
    const tasks: WorkflowTask[] = [];
    for (const { message, update } of finished) {
      if (!leadsOn(message, update.state)) continue;
      if (isChordMember(message)) return null;
      if (update.state === 'SUCCESS') tasks.push(...this.onSuccess(message, update.result));
      else tasks.push(...errbacksOf(message, dictList(message.embed.errbacks), message.id));
    }
    return tasks;
  }

  /** After the commit of a statement that wrote follow-ups: publishes them by task id. */
  sendCommitted(outbox: OutboxStatement): AfterCommit {
    if (outbox.taskIds.length === 0) return NOTHING_STAGED;
    return () => this.outbox.sendCommitted(outbox);
  }

  private onSuccess(message: TaskMessage, result: unknown): WorkflowTask[] {
    const lineage = { rootId: message.rootId, parentId: message.id };
    const tasks = dictList(message.embed.callbacks).map((d) =>
      followUp(d, lineage, { result: { value: result } }),
    );
    const rest = dictList(message.embed.chain);
    const next = rest.pop();
    if (next) tasks.push(followUp(next, lineage, { result: { value: result }, chain: rest }));
    return tasks;
  }

  /**
   * Counts each member once (the dedupe row), advances the counter and, in the
   * transaction that completes a chord, sends its callback with the results in order.
   * A separate statement reads the results after the counter's row lock was taken,
   * so every other member's transaction has committed and is visible.
   */
  private async join(manager: EntityManager, members: FinishedTask[]): Promise<WorkflowTask[]> {
    const distinct = new Map(
      members.map((m) => [`${m.message.group}\u0000${m.message.groupIndex}`, m]),
    );
    const chordIds: string[] = [];
    const indexes: number[] = [];
    for (const { message } of distinct.values()) {
      chordIds.push(message.group ?? '');
      indexes.push(message.groupIndex ?? -1);
    }
    const counted = updatedRows<{ id: string; done: number; size: number }>(
      await manager.query(
        preparedStatement(`WITH m AS (SELECT * FROM unnest($1::text[], $2::int[]) AS m(chord_id, member_index)),
       joined AS (
         INSERT INTO task_chord_members (chord_id, member_index)
         SELECT m.chord_id, m.member_index
           FROM m JOIN task_chords c ON c.id = m.chord_id AND m.member_index < c.size
         ON CONFLICT DO NOTHING RETURNING chord_id),
       counted AS (SELECT chord_id, count(*)::int AS n FROM joined GROUP BY chord_id)
       UPDATE task_chords c SET done = c.done + counted.n, updated_at = now()
         FROM counted WHERE c.id = counted.chord_id
       RETURNING c.id, c.done, c.size`),
        [chordIds, indexes],
      ),
    );
    const complete = counted.filter((row) => row.done === row.size).map((row) => row.id);
    if (complete.length === 0) return [];
    // A chord failed by a member that was then replayed and succeeded fires now, once.
    const fired = updatedRows<ChordFired>(
      await manager.query(
        preparedStatement(`UPDATE task_chords SET state = 'fired', fired_at = now(), updated_at = now()
          WHERE id = ANY($1::text[]) AND state <> 'fired' RETURNING id, callback, root_id`),
        [complete],
      ),
    );
    if (fired.length === 0) return [];
    const results: { group_id: string; results: unknown[]; n: number }[] = await manager.query(
      preparedStatement(`SELECT group_id, jsonb_agg(result ORDER BY group_index) AS results, count(*)::int AS n
         FROM task_results WHERE group_id = ANY($1::text[]) AND state = 'SUCCESS'
        GROUP BY group_id`),
      [fired.map((row) => row.id)],
    );
    const byChord = new Map(results.map((row) => [row.group_id, row]));
    return fired.map((row) => {
      const callback = fromDict(row.callback);
      const found = byChord.get(row.id);
      const size = counted.find((c) => c.id === row.id)?.size ?? 0;
      if (found?.n !== size)
        this.logger.warn(`chord ${row.id}: ${found?.n ?? 0} stored results of ${size} members`);
      return followUp(
        callback,
        { rootId: row.root_id ?? row.id, parentId: callback.options.parent_id ?? null },
        { result: { value: found?.results ?? [] } },
      );
    });
  }

  /**
   * A member that failed for good fails its chord, once: the callback's result becomes
   * FAILURE (`ChordError`) and the chord's `link_error`s are sent. A member that had
   * already been counted (a late duplicate) fails nothing.
   */
  private async failChords(
    manager: EntityManager,
    members: FinishedTask[],
  ): Promise<WorkflowTask[]> {
    const failedChords = updatedRows<ChordFired>(
      await manager.query(
        preparedStatement(`UPDATE task_chords c SET state = 'failed', updated_at = now()
         FROM unnest($1::text[], $2::int[]) AS f(chord_id, member_index)
        WHERE c.id = f.chord_id AND c.state = 'pending'
          AND NOT EXISTS (SELECT 1 FROM task_chord_members m
                           WHERE m.chord_id = f.chord_id AND m.member_index = f.member_index)
        RETURNING c.id, c.callback, c.root_id`),
        [members.map((m) => m.message.group ?? ''), members.map((m) => m.message.groupIndex ?? -1)],
      ),
    );
    const tasks: WorkflowTask[] = [];
    const updates: ResultUpdate[] = [];
    for (const row of failedChords) {
      const member = members.find((m) => m.message.group === row.id);
      if (!member) continue;
      const callback = fromDict(row.callback);
      const callbackId = callback.options.task_id ?? row.id;
      const rootId = row.root_id ?? row.id;
      updates.push({
        id: callbackId,
        task: callback.task,
        queue: callback.options.queue ?? defaultQueue(callback.task),
        state: 'FAILURE',
        errorType: 'ChordError',
        errorMessage: chordErrorMessage(
          member.message.id,
          member.update.errorType ?? 'Error',
          member.update.errorMessage ?? '',
        ),
        retries: 0,
        rootId,
        parentId: callback.options.parent_id ?? null,
        groupId: null,
      });
      const lineage = { rootId, parentId: callbackId };
      tasks.push(
        ...(callback.options.link_error ?? []).map((d) => errback(d, lineage, callbackId)),
      );
    }
    if (updates.length > 0) await this.writeResults(manager, updates);
    return tasks;
  }

  /** Waits for the follow-ups being published (graceful shutdown). */
  drain(): Promise<void> {
    return this.outbox.drain();
  }
}

function errback(
  d: SignatureDict,
  lineage: { rootId: string; parentId: string },
  failedId: string,
): WorkflowTask {
  return followUp(d, lineage, { result: { value: failedId } });
}

/** A failed task's `link_error`s, each given the failed task's id (Celery's old-style errback). */
function errbacksOf(
  message: TaskMessage,
  dicts: SignatureDict[],
  failedId: string,
): WorkflowTask[] {
  const lineage = { rootId: message.rootId, parentId: message.id };
  return dicts.map((d) => errback(d, lineage, failedId));
}

/**
 * Outbox rows for the follow-ups, with no wake-up for the relay: this process publishes
 * them right after the commit (`sentBy: 'writer'`). Returns their messages by task id.
 */
async function insertOutbox(
  manager: EntityManager,
  tasks: WorkflowTask[],
): Promise<Map<string, OutboxMessage>> {
  const messages = new Map<string, OutboxMessage>();
  for (let from = 0; from < tasks.length; from += OUTBOX_BATCH_MAX) {
    const outbox = OutboxStatement.of(tasks.slice(from, from + OUTBOX_BATCH_MAX), {
      firstParameter: 1,
      sentBy: 'writer',
    });
    await manager.query(preparedStatement(outbox.insert(outbox.rows('o'))), outbox.parameters);
    for (const [taskId, message] of outbox.messages()) messages.set(taskId, message);
  }
  return messages;
}
