import type { EntityManager } from 'typeorm';
import { buildTask } from '../client/task-message-factory';
import type { SendOptions } from '../client/task-options';

export const OUTBOX_CHANNEL = 'clearline_task_outbox';

/**
 * Writes a task into `task_outbox` inside the caller's transaction. The row and a
 * notification commit together with the caller's own rows (or not at all); the
 * relay publishes it once it is committed. Returns the task id.
 */
export async function enqueueTask(
  manager: EntityManager,
  task: string,
  payload: unknown,
  options: SendOptions = {},
): Promise<string> {
  const routed = buildTask(task, payload, options);
  await manager.query(
    `WITH added AS (
       INSERT INTO task_outbox (task_id, task, exchange, routing_key, body, properties)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING id)
     SELECT pg_notify('${OUTBOX_CHANNEL}', '') FROM added`,
    [
      routed.id,
      task,
      routed.exchange,
      routed.routingKey,
      routed.encoded.content,
      JSON.stringify(routed.encoded.properties),
    ],
  );
  return routed.id;
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
    `INSERT INTO task_inbox (task_id, task) VALUES ($1, $2) ON CONFLICT (task_id) DO NOTHING RETURNING task_id`,
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
  const rows: { task_id: string }[] = await manager.query(
    `INSERT INTO task_inbox (task_id, task)
       SELECT * FROM unnest($1::text[], $2::text[])
     ON CONFLICT (task_id) DO NOTHING RETURNING task_id`,
    [claims.map((c) => c.taskId), claims.map((c) => c.task)],
  );
  return new Set(rows.map((row) => row.task_id));
}
