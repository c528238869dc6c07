import { Logger } from '@nestjs/common';
import { strict as assert } from 'node:assert';
import type { DataSource } from 'typeorm';
import { BatchCollector, preparedStatement, readCommitted } from '@clearline/persistence';
import type { Publisher } from '../broker/publisher';
import type { OutboxMessage, OutboxStatement } from './task-outbox';

/**
 * Marks a batch of committed rows sent, by row id or task id; a row another sender holds
 * is skipped.
 */
const MARK_SENT_SQL = {
  id: markSentSql('id = ANY($1::bigint[])'),
  task_id: markSentSql('task_id = ANY($1::text[])'),
} as const;

function markSentSql(rows: string): string {
  return preparedStatement(
    `UPDATE task_outbox SET sent_at = now(), attempts = attempts + 1
      WHERE id IN (SELECT id FROM task_outbox WHERE ${rows} AND sent_at IS NULL FOR UPDATE SKIP LOCKED)
      RETURNING task_id`,
  );
}

/** TypeORM answers an UPDATE with `[rows, affected]` instead of the rows. */
export function updatedRows<T>(answer: unknown): T[] {
  const pair = answer as [T[], number];
  return Array.isArray(pair[0]) ? pair[0] : (answer as T[]);
}

/** Committed rows to publish: their ids (row or task ids) and their messages by task id. */
interface Send {
  ids: string[];
  messages: Map<string, OutboxMessage>;
}

/** Rows one claiming transaction publishes at most (a send is never split). */
const SEND_BATCH_ROWS_MAX = 500;
/** Claiming transactions in flight at once; sends that come meanwhile wait and go together. */
const SEND_BATCHES_IN_FLIGHT = 2;

/**
 * Publishes outbox rows this process has just committed, right after the commit, so no
 * relay needs waking for them: a statement that writes rows it sends itself leaves out
 * `notifyAfter`. Each row is claimed (`FOR UPDATE SKIP LOCKED`, `sent_at` set) in the
 * transaction that publishes it, so a relay sweeping at the same moment sends it or
 * skips it, never both; a row this process could not send (broker away, a crash) stays
 * unsent and the relay's sweep sends it. The messages come from memory: rows are never
 * read back.
 *
 * Sends that come while earlier ones are in flight share one claiming transaction (group
 * commit, as the relay's batches do under load): one transaction per writer's commit cost
 * more than the relay it replaced once refunds came 80 a second.
 */
export class CommittedOutbox {
  private readonly logger = new Logger(CommittedOutbox.name);
  private readonly sending = new Set<Promise<void>>();
  private readonly batches: Record<'id' | 'task_id', BatchCollector<Send, void>> = {
    id: this.collector('id'),
    task_id: this.collector('task_id'),
  };

  constructor(
    private readonly dataSource: DataSource,
    private readonly publisher: Publisher,
  ) {}

  private collector(by: 'id' | 'task_id'): BatchCollector<Send, void> {
    return new BatchCollector<Send, void>(
      {
        sizeMax: SEND_BATCH_ROWS_MAX,
        concurrency: SEND_BATCHES_IN_FLIGHT,
        weight: (send) => send.ids.length,
      },
      async (sends) => {
        const ids = sends.flatMap((send) => send.ids);
        try {
          await this.publish(by, ids, new Map(sends.flatMap((send) => [...send.messages])));
        } catch (error) {
          // Once per batch, not per send: the relay's sweep sends them all the same.
          this.logger.warn(
            `sending ${ids.length} committed outbox rows failed (${String(error)}); the outbox relay sends them`,
          );
        }
        return sends.map(() => undefined);
      },
    );
  }

  /**
   * After the commit of a statement that wrote `outbox`'s rows: publishes them (not
   * awaited). A statement that kept only some rows (joined by key) names the keys of
   * those it wrote, `written`: only they are sent.
   */
  sendCommitted(outbox: OutboxStatement, written?: ReadonlySet<string>): void {
    const taskIds = written ? outbox.taskIdsOf(written) : outbox.taskIds;
    if (taskIds.length === 0) return;
    this.sendRows('task_id', taskIds, outbox.messages());
  }

  /**
   * Publishes committed rows by row id or task id (not awaited; `drain` waits); a row
   * that cannot be sent is left to the relay.
   */
  sendRows(by: 'id' | 'task_id', ids: string[], messages: Map<string, OutboxMessage>): void {
    const work = this.batches[by].add({ ids, messages });
    this.sending.add(work);
    void work.finally(() => this.sending.delete(work));
  }

  private async publish(
    by: 'id' | 'task_id',
    ids: string[],
    messages: Map<string, OutboxMessage>,
  ): Promise<void> {
    await readCommitted(this.dataSource, async (manager) => {
      const rows = updatedRows<{ task_id: string }>(await manager.query(MARK_SENT_SQL[by], [ids]));
      await Promise.all(
        rows.map((row) => {
          const message = messages.get(row.task_id);
          assert(message !== undefined, 'a committed row is one this process wrote');
          return this.publisher.publish(
            message.exchange,
            message.routingKey,
            message.body,
            message.properties,
          );
        }),
      );
    });
  }

  /** Waits for the rows being published (graceful shutdown). */
  async drain(): Promise<void> {
    while (this.sending.size > 0) await Promise.all([...this.sending]);
  }
}
