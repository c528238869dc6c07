import type { Options } from 'amqplib';
import type { EntityManager } from 'typeorm';
import { preparedStatement } from '@clearline/persistence';
import { buildTask } from '../client/task-message-factory';
import type { SendOptions } from '../client/send-options';
import type { CeleryEmbed } from '../protocol/celery-message';

export const OUTBOX_CHANNEL = 'clearline_task_outbox';
/** PostgreSQL's longest identifier (NAMEDATALEN - 1), in bytes: a channel is one. */
const CHANNEL_BYTES_MAX = 63;

/**
 * The channel that wakes the relays of one sender: only they can send its rows, so the
 * other services' relays are not woken to find nothing (each wake-up is a transaction).
 * Rows that name no sender, and a sender whose channel would be too long, use
 * `OUTBOX_CHANNEL`, which every relay listens to as well.
 */
export function outboxChannel(sender: string): string {
  const channel = `${OUTBOX_CHANNEL}:${sender}`;
  return sender === '' || Buffer.byteLength(channel) > CHANNEL_BYTES_MAX ? OUTBOX_CHANNEL : channel;
}

/** A text as an SQL string literal. */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** A task to write into the outbox: what `TaskClient.send` takes, to be sent after commit. */
export interface OutboxTask {
  task: string;
  payload: unknown;
  options?: SendOptions;
}

/** One outbox row's message, as the relay would publish it. */
export interface OutboxMessage {
  exchange: string;
  routingKey: string;
  body: Buffer;
  properties: Options.Publish;
}

/** An outbox task that carries a workflow's embed (`chain`, `chord`, callbacks); internal. */
export interface EmbeddedOutboxTask extends OutboxTask {
  embed?: Partial<CeleryEmbed>;
}

const OUTBOX_COLUMNS = [
  'task_id',
  'task',
  'exchange',
  'routing_key',
  'body',
  'properties',
  'sender',
];
const OUTBOX_TYPES = ['text', 'text', 'text', 'text', 'bytea', 'jsonb', 'text'];

/**
 * How long, at least, a row its writer sends itself (`sentBy: 'writer'`) is left to the
 * writer before the relay may send it. A live writer has published it (or handed it back
 * to the relay at once, when its publish failed) long before: a publish ends within the
 * publisher's confirm deadline (5 s by default; a process whose deadline is longer keeps
 * twice it, {@link outboxWriterGraceMs}). So only a writer that died sends a row late,
 * and a writer that outlives it as well is a duplicate delivery, which the consumers'
 * inboxes and state guards absorb, never a loss.
 */
export const OUTBOX_WRITER_GRACE_MS = 10_000;

/**
 * The grace a process's writer rows get: twice its publisher's confirm deadline, and never
 * less than {@link OUTBOX_WRITER_GRACE_MS}, so a relay never sends a row whose writer is
 * still waiting for the broker's confirm of it.
 */
export function outboxWriterGraceMs(confirmTimeoutMs: number): number {
  return Math.max(OUTBOX_WRITER_GRACE_MS, 2 * confirmTimeoutMs);
}

/** Who publishes an outbox row: the relay (woken or by its sweep), or the writer after its commit. */
export type OutboxSentBy = 'relay' | 'writer';

/**
 * This process as the writer of outbox rows; TasksModule sets both when it connects.
 * `user`: the broker user it publishes as: each outbox row names it, and only a relay of
 * the same user sends the row, so the task's `user_id` is the service that wrote it
 * (empty: any relay sends the row). `writerGraceMs`: how long its writer rows are left to
 * it ({@link outboxWriterGraceMs} of its publisher's confirm deadline).
 */
export const outboxSender = { user: '', writerGraceMs: OUTBOX_WRITER_GRACE_MS };

/**
 * Outbox rows for a statement that writes rows of its own too: the caller's rows and
 * their tasks commit atomically in one round trip, with no transaction around them.
 * The library owns everything about the rows (encoding, columns, the relay's wake-up);
 * the caller only says where the rows go in its statement and which of them to keep.
 *
 * Each task may carry a `key` (any text, e.g. the id of the row it belongs to) so the
 * statement can join the tasks to its own rows and keep only some.
 *
 * @example
 * const outbox = OutboxStatement.of(tasks, { firstParameter: 3, keys: paymentIds });
 * await dataSource.query(
 *   `WITH moved AS (UPDATE payments SET … WHERE id = ANY($1) RETURNING id),
 *         queued AS (${outbox.insert(`${outbox.rows('o')} JOIN moved m ON m.id = o.key`)})
 *    SELECT m.id, ${outbox.notifyAfter('queued')} FROM moved m`,
 *   [ids, statuses, ...outbox.parameters],
 * );
 */
export class OutboxStatement {
  private constructor(
    /** The statement parameters of the rows, in order from `firstParameter`. */
    readonly parameters: unknown[],
    private readonly firstParameter: number,
    /** The tasks' ids, in the order given. */
    readonly taskIds: string[],
    /** The broker user the rows name as their sender. */
    private readonly sender: string,
    /**
     * `writer`: the writer publishes the rows after its commit (`CommittedOutbox`), and
     * the relay only if the writer has not within `writerGraceMs`.
     */
    readonly sentBy: OutboxSentBy,
    /** How long the relay leaves `writer` rows alone (`outboxSender.writerGraceMs`). */
    private readonly writerGraceMs: number,
  ) {}

  /**
   * The encoded messages of the rows, by task id: a writer that publishes its own rows
   * right after its commit sends these instead of reading the bodies back. Internal.
   */
  messages(): Map<string, OutboxMessage> {
    const [, taskIds, , exchanges, routingKeys, bodies, properties] = this.parameters as [
      unknown,
      string[],
      unknown,
      string[],
      string[],
      Buffer[],
      string[],
    ];
    return new Map(
      taskIds.map((taskId, i) => [
        taskId,
        {
          exchange: exchanges[i] ?? '',
          routingKey: routingKeys[i] ?? '',
          body: bodies[i] ?? Buffer.alloc(0),
          properties: JSON.parse(properties[i] ?? '{}') as Options.Publish,
        },
      ]),
    );
  }

  /**
   * The ids of the tasks paired with one of `keys`, in the order given: what a statement
   * that keeps only some of its rows (joined by key) wrote.
   */
  taskIdsOf(keys: ReadonlySet<string>): string[] {
    const rowKeys = this.parameters[0] as (string | null)[];
    return this.taskIds.filter((_, i) => {
      const key = rowKeys[i];
      return key !== null && key !== undefined && keys.has(key);
    });
  }

  /**
   * Encodes `tasks` (as `TaskClient.send` would) into parameters numbered from
   * `firstParameter` (`$n`); `keys`, when given, pairs each task with a key. `sentBy`
   * (`relay` unless said): a writer that sends the rows itself after its commit says
   * `writer`, and hands the statement to `CommittedOutbox.sendCommitted`.
   */
  static of(
    tasks: readonly EmbeddedOutboxTask[],
    options: { firstParameter: number; keys?: readonly string[]; sentBy?: OutboxSentBy },
  ): OutboxStatement {
    const keys = options.keys ?? tasks.map(() => null);
    if (keys.length !== tasks.length) throw new Error('outbox: one key per task');
    const columns: unknown[][] = [[...keys], [], [], [], [], [], [], []];
    const taskIds: string[] = [];
    const sender = outboxSender.user;
    for (const { task, payload, options: sendOptions, embed } of tasks) {
      const routed = buildTask(task, payload, embed ? { ...sendOptions, embed } : sendOptions);
      taskIds.push(routed.id);
      const row = [
        routed.id,
        task,
        routed.exchange,
        routed.routingKey,
        routed.encoded.content,
        JSON.stringify(routed.encoded.properties),
        sender,
      ];
      row.forEach((value, i) => columns[i + 1]?.push(value));
    }
    return new OutboxStatement(
      columns,
      options.firstParameter,
      taskIds,
      sender,
      options.sentBy ?? 'relay',
      outboxSender.writerGraceMs,
    );
  }

  /**
   * A table expression of the rows, for a FROM clause:
   * `unnest(…) AS <alias>(key, task_id, task, exchange, routing_key, body, properties)`.
   */
  rows(alias: string): string {
    const types = ['text', ...OUTBOX_TYPES];
    const parameters = types.map((type, i) => `$${this.firstParameter + i}::${type}[]`);
    return `unnest(${parameters.join(', ')}) AS ${alias}(key, ${OUTBOX_COLUMNS.join(', ')})`;
  }

  /**
   * `INSERT INTO task_outbox … SELECT <alias>.… FROM <from> RETURNING 1`, for a CTE.
   * `from` is a FROM clause (joins and a WHERE welcome) in which `alias` names `rows()`.
   */
  insert(from: string, alias = 'o', returning = '1'): string {
    const columns = [...OUTBOX_COLUMNS];
    const selected = OUTBOX_COLUMNS.map((column) => `${alias}.${column}`);
    if (this.sentBy === 'writer') {
      columns.push('relay_after');
      selected.push(`now() + interval '${this.writerGraceMs} milliseconds'`);
    }
    return `INSERT INTO task_outbox (${columns.join(', ')}) SELECT ${selected.join(', ')} FROM ${from} RETURNING ${returning}`;
  }

  /**
   * A scalar expression that wakes the rows' sender's relays (after commit) if the CTE named
   * `cte` (an `insert()`) wrote any row: put it in the statement's final SELECT, since
   * PostgreSQL runs a data-modifying CTE whether or not it is read, but a function in
   * a CTE nobody reads is never called.
   */
  notifyAfter(cte: string): string {
    const channel = literal(outboxChannel(this.sender));
    return `(SELECT count(pg_notify(${channel}, '')) FROM (SELECT 1 FROM ${cte} LIMIT 1) AS woken)`;
  }
}

/**
 * Writes tasks into `task_outbox` inside the caller's transaction, in one statement:
 * the rows and the relay's wake-up commit with the caller's own rows (or not at all),
 * and the relay publishes them, confirmed, once they are committed. Returns the task
 * ids in order. At most `OUTBOX_BATCH_MAX` tasks per call.
 */
export async function enqueueTasks(
  manager: EntityManager,
  tasks: readonly OutboxTask[],
): Promise<string[]> {
  return (await writeOutbox(manager, tasks, 'relay')).taskIds;
}

/**
 * `enqueueTasks` for a writer that publishes the rows itself once its transaction has
 * committed: no relay is woken. Hand the answer to `CommittedOutbox.sendCommitted` after
 * the commit (never inside the transaction); a row it fails to send, or that a crash
 * left, is sent by the relay's sweep.
 */
export function stageTasks(
  manager: EntityManager,
  tasks: readonly OutboxTask[],
): Promise<OutboxStatement> {
  return writeOutbox(manager, tasks, 'writer');
}

async function writeOutbox(
  manager: EntityManager,
  tasks: readonly OutboxTask[],
  sentBy: OutboxSentBy,
): Promise<OutboxStatement> {
  if (tasks.length > OUTBOX_BATCH_MAX) {
    throw new Error(`outbox: ${tasks.length} tasks, more than ${OUTBOX_BATCH_MAX} at once`);
  }
  const outbox = OutboxStatement.of(tasks, { firstParameter: 1, sentBy });
  if (tasks.length === 0) return outbox;
  const woken = sentBy === 'relay' ? outbox.notifyAfter('queued') : '1';
  await manager.query(
    preparedStatement(`WITH queued AS (${outbox.insert(outbox.rows('o'))}) SELECT ${woken}`),
    outbox.parameters,
  );
  return outbox;
}

/** The most tasks one `enqueueTasks` call writes. */
export const OUTBOX_BATCH_MAX = 10_000;

/** `enqueueTasks` for one task. Returns its id. */
export async function enqueueTask(
  manager: EntityManager,
  task: string,
  payload: unknown,
  options: SendOptions = {},
): Promise<string> {
  const [id] = await enqueueTasks(manager, [{ task, payload, options }]);
  if (id === undefined) throw new Error('enqueueTasks returned no id for one task');
  return id;
}

/**
 * Records a task id in the inbox inside the caller's transaction. Returns false if it
 * was already there: the task's effects were committed before, so a redelivery must
 * be acknowledged without running it again.
 */
export async function claimInbox(
  manager: EntityManager,
  taskId: string,
  task: string,
): Promise<boolean> {
  const rows: unknown[] = await manager.query(
    preparedStatement(
      `INSERT INTO task_inbox (task_id, task) VALUES ($1, $2) ON CONFLICT (task_id) DO NOTHING RETURNING task_id`,
    ),
    [taskId, task],
  );
  return rows.length === 1;
}

/**
 * `claimInbox` for a batch, in one statement: returns the ids that were not in the
 * inbox yet (now claimed). Ids must be distinct.
 */
export async function claimInboxMany(
  manager: EntityManager,
  claims: readonly { taskId: string; task: string }[],
): Promise<Set<string>> {
  // In id order: two batches that hold some of the same redelivered tasks wait for each
  // other's uncommitted claims in one order, never in opposite orders (a deadlock).
  const ordered = [...claims].sort((a, b) =>
    a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0,
  );
  const rows: { task_id: string }[] = await manager.query(
    preparedStatement(`INSERT INTO task_inbox (task_id, task)
       SELECT task_id, task FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS c(task_id, task, n)
        ORDER BY n
     ON CONFLICT (task_id) DO NOTHING RETURNING task_id`),
    [ordered.map((c) => c.taskId), ordered.map((c) => c.task)],
  );
  return new Set(rows.map((row) => row.task_id));
}
