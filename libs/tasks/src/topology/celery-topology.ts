import { buildTopology, TASK_EXCHANGE, type WorkQueueSpec } from './topology';

/**
 * What a Python Celery app needs to send tasks to Clearline's workers with plain Celery
 * idioms (`send_task(name)`, `apply_async(queue='ledger')`): the task exchange, each work
 * queue with the exact arguments Clearline declares it with (so Celery's own declaration
 * is the same declaration, never `PRECONDITION_FAILED`), and the explicit routes.
 * `npm run topology:export` writes it to infra/celery/clearline_topology.json, which
 * infra/celery/clearline_celery.py reads.
 */
export interface CeleryTopology {
  exchange: { name: string; type: 'direct'; durable: true };
  /** The work queues a Python client may route to (ordered lanes are sent from Clearline only). */
  queues: { name: string; arguments: Record<string, unknown> }[];
  /** Tasks routed to a queue other than their name's first segment. */
  routes: Record<string, string>;
}

export function celeryTopology(workQueues: readonly WorkQueueSpec[]): CeleryTopology {
  const plain = workQueues.filter((spec) => !spec.ordered);
  const declared = new Map(buildTopology(plain).queues.map((queue) => [queue.name, queue]));
  const queues = plain.map((spec) => {
    const queue = declared.get(spec.name);
    if (!queue) throw new Error(`work queue ${spec.name} is not in the topology`);
    return { name: queue.name, arguments: queue.arguments };
  });
  const routes: Record<string, string> = {};
  for (const spec of plain) for (const task of spec.tasks ?? []) routes[task] = spec.name;
  return { exchange: { name: TASK_EXCHANGE, type: 'direct', durable: true }, queues, routes };
}
