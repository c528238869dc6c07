import { buildTask, OUTBOX_CHANNEL, type SendOptions } from '@clearline/tasks';

/** A task to put in the outbox. */
export interface OutboxTask {
  task: string;
  payload: object;
  options?: SendOptions;
}

/**
 * Outbox rows as parallel arrays, for statements that insert them with `unnest` beside
 * rows of their own: one round trip, and atomic with those rows. The encoding is the
 * task layer's (`buildTask`, as `enqueueTask` uses it); the columns are `task_outbox`'s,
 * in the order of OUTBOX_COLUMNS.
 */
export interface OutboxColumns {
  taskIds: string[];
  tasks: string[];
  exchanges: string[];
  routingKeys: string[];
  bodies: Buffer[];
  properties: string[];
}

export const OUTBOX_COLUMNS = 'task_id, task, exchange, routing_key, body, properties';
/** Wakes the outbox relay once the statement commits (as `enqueueTask` does). */
export const OUTBOX_NOTIFY = `pg_notify('${OUTBOX_CHANNEL}', '')`;

export function outboxColumns(tasks: readonly OutboxTask[]): OutboxColumns {
  const columns: OutboxColumns = {
    taskIds: [],
    tasks: [],
    exchanges: [],
    routingKeys: [],
    bodies: [],
    properties: [],
  };
  for (const { task, payload, options } of tasks) {
    const routed = buildTask(task, payload, options);
    columns.taskIds.push(routed.id);
    columns.tasks.push(task);
    columns.exchanges.push(routed.exchange);
    columns.routingKeys.push(routed.routingKey);
    columns.bodies.push(routed.encoded.content);
    columns.properties.push(JSON.stringify(routed.encoded.properties));
  }
  return columns;
}

/** The arrays in OUTBOX_COLUMNS order, as statement parameters. */
export function outboxParameters(columns: OutboxColumns): unknown[] {
  return [
    columns.taskIds,
    columns.tasks,
    columns.exchanges,
    columns.routingKeys,
    columns.bodies,
    columns.properties,
  ];
}
