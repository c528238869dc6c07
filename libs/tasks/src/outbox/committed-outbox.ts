import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { BatchCollector, preparedStatement } from '@clearline/persistence';
import type { Publisher } from '../broker/publisher';
import { outboxChannel, type OutboxMessage, type OutboxStatement } from './task-outbox';

/**
 * Ends the writer's hold on rows it published: those the broker confirmed (`$1`) are
 * marked sent, those it could not publish (`$2`) are handed to the relay at once
 * (`relay_after` now, and its sender's relays woken) instead of at the end of the grace.
 * A row already sent (a relay's, after the grace) is left as it is.
 */
function markSql(channel: string): string {
  return preparedStatement(
    `WITH sent AS (
       UPDATE task_outbox SET sent_at = now(), attempts = attempts + 1
        WHERE sender IN ('', $3) AND task_id = ANY($1::text[]) AND sent_at IS NULL RETURNING 1
     ), handed AS (
       UPDATE task_outbox SET relay_after = now(), attempts = attempts + 1
        WHERE sender IN ('', $3) AND task_id = ANY($2::text[]) AND sent_at IS NULL RETURNING 1
     )
     SELECT (SELECT count(*) FROM sent)::int AS sent,
            (SELECT count(pg_notify('${channel.replaceAll("'", "''")}', '')) FROM (SELECT 1 FROM handed LIMIT 1) AS woken)::int AS woken`,
  );
}

/** TypeORM answers an UPDATE with `[rows, affected]` instead of the rows. */
export function updatedRows<T>(answer: unknown): T[] {
  const pair = answer as [T[], number];
  return Array.isArray(pair[0]) ? pair[0] : (answer as T[]);
}

/** Committed rows to publish: their messages by task id. */
type Send = Map<string, OutboxMessage>;

/** Rows one marking statement covers at most (a send is never split). */
const SEND_BATCH_ROWS_MAX = 500;
/** Batches in flight at once; sends that come meanwhile wait and go together. */
const SEND_BATCHES_IN_FLIGHT = 2;

/**
 * Publishes outbox rows this process has just committed, right after the commit, so no
 * relay needs waking for them. The rows are the writer's (`OutboxStatement.of(…, {sentBy:
 * 'writer'})`): the relay leaves them alone for the writer's grace
 * (`outboxWriterGraceMs`), so the writer claims nothing. It publishes the messages from
 * memory (rows are never read back), waits for the broker's confirms, then one statement
 * marks the confirmed rows sent and hands those that failed to the relay at once. No transaction, no row lock and no
 * connection is held while the broker confirms. A writer that dies before marking its
 * rows leaves them to the relay's sweep once the grace has passed: a row it had
 * published is then delivered twice, which consumers absorb (inbox, state guards).
 *
 * Sends that come while earlier ones are in flight share one marking statement (group
 * commit, as the relay's batches do under load).
 */
export class CommittedOutbox {
  private readonly logger = new Logger(CommittedOutbox.name);
  private readonly sending = new Set<Promise<void>>();
  private readonly batches = new BatchCollector<Send, void>(
    {
      sizeMax: SEND_BATCH_ROWS_MAX,
      concurrency: SEND_BATCHES_IN_FLIGHT,
      weight: (send) => send.size,
    },
    async (sends) => {
      const messages = new Map(sends.flatMap((send) => [...send]));
      try {
        await this.publish(messages);
      } catch (error) {
        // Once per batch, not per send: the relay's sweep sends them all the same.
        this.logger.warn(
          `sending ${messages.size} committed outbox rows failed (${String(error)}); the outbox relay sends them`,
        );
      }
      return sends.map(() => undefined);
    },
  );

  constructor(
    private readonly dataSource: DataSource,
    private readonly publisher: Publisher,
  ) {}

  /**
   * After the commit of a statement that wrote `outbox`'s rows (`sentBy: 'writer'`):
   * publishes them (not awaited). A statement that kept only some rows (joined by key)
   * names the keys of those it wrote, `written`: only they are sent.
   */
  sendCommitted(outbox: OutboxStatement, written?: ReadonlySet<string>): void {
    if (outbox.sentBy !== 'writer') {
      // The relay sends these at once: publishing them here as well would send them twice.
      throw new Error('outbox: rows the relay sends (sentBy relay) are not sent by their writer');
    }
    const taskIds = written ? outbox.taskIdsOf(written) : outbox.taskIds;
    if (taskIds.length === 0) return;
    const all = outbox.messages();
    const messages: Send = new Map();
    for (const taskId of taskIds) {
      const message = all.get(taskId);
      if (message) messages.set(taskId, message);
    }
    this.sendMessages(messages);
  }

  /**
   * Publishes committed rows (written `sentBy: 'writer'`) from their messages by task id
   * (not awaited; `drain` waits); a row that cannot be sent is handed to the relay.
   */
  sendMessages(messages: Send): void {
    if (messages.size === 0) return;
    const work = this.batches.add(messages);
    this.sending.add(work);
    void work.finally(() => this.sending.delete(work));
  }

  private async publish(messages: Send): Promise<void> {
    const entries = [...messages];
    const outcomes = await Promise.allSettled(
      entries.map(([, message]) =>
        this.publisher.publish(
          message.exchange,
          message.routingKey,
          message.body,
          message.properties,
        ),
      ),
    );
    const sent: string[] = [];
    const failed: string[] = [];
    outcomes.forEach((outcome, i) => {
      const taskId = entries[i]?.[0];
      if (taskId !== undefined) (outcome.status === 'fulfilled' ? sent : failed).push(taskId);
    });
    const sender = this.publisher.user;
    await this.dataSource.query(markSql(outboxChannel(sender)), [sent, failed, sender]);
    if (failed.length > 0) {
      const reason = outcomes.find((outcome) => outcome.status === 'rejected');
      this.logger.warn(
        `${failed.length} committed outbox rows not published (${String(reason?.status === 'rejected' ? reason.reason : '')}); handed to the outbox relay`,
      );
    }
  }

  /** Waits for the rows being published (graceful shutdown). */
  async drain(): Promise<void> {
    while (this.sending.size > 0) await Promise.all([...this.sending]);
  }
}
