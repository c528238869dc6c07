import { strict as assert } from 'node:assert';
import { ORDER_KEY_HEADER, shardQueues, type WorkQueueSpec } from '../topology';
import type { TaskHandlerOptions } from '../worker/task-options';

/** Where an ordered task goes: its lane (the queue to publish to) and its order key. */
export interface OrderedRoute {
  lane: string;
  /** The payload field the task is ordered by. */
  field: string;
}

/**
 * The longest an ordered task waits before a retry: it holds its shard meanwhile, and
 * the broker's consumer timeout (30 minutes, infra/rabbitmq) must never cut it short.
 */
export const ORDERED_RETRY_DELAY_MS_MAX = 60_000;

/** How long an ordered task waits for its retry: its backoff, at most ORDERED_RETRY_DELAY_MS_MAX. */
export function orderedRetryDelayMs(backoffMs: number): number {
  return Math.min(Math.max(0, backoffMs), ORDERED_RETRY_DELAY_MS_MAX);
}

/** An order key is a header value: bounded like any header a producer writes. */
export const ORDER_KEY_LENGTH_MAX = 256;

/**
 * The ordered lanes of the system, read from the work-queue specs every service
 * passes to `TasksModule`: which tasks are ordered, by which payload field, in
 * which lane, and which shard queues a lane has.
 */
export class OrderedLanes {
  private readonly routes = new Map<string, OrderedRoute>();
  private readonly shards = new Map<string, string[]>();

  constructor(workQueues: readonly WorkQueueSpec[] = []) {
    this.add(workQueues);
  }

  /**
   * Adds lanes; a task declared in two places must be declared the same way. A lane
   * declared again takes its new shard count (a benchmark tries several in one process):
   * producers route by the lane's exchange, which hashes over whatever shards it has.
   */
  add(workQueues: readonly WorkQueueSpec[]): void {
    for (const spec of workQueues) {
      if (!spec.ordered) continue;
      this.shards.set(spec.name, shardQueues(spec.name, spec.ordered.shards));
      for (const [task, field] of Object.entries(spec.ordered.tasks)) {
        const route = this.routes.get(task);
        assert(
          route === undefined || (route.lane === spec.name && route.field === field),
          `ordered task ${task} declared twice, differently`,
        );
        this.routes.set(task, { lane: spec.name, field });
      }
    }
  }

  /** The lane and key field of an ordered task; undefined for any other task. */
  routeOf(task: string): OrderedRoute | undefined {
    return this.routes.get(task);
  }

  /** The shard queues of a lane; undefined when `queue` is not an ordered lane. */
  shardsOf(queue: string): readonly string[] | undefined {
    return this.shards.get(queue);
  }

  /** Every lane and its shard queues. */
  get lanes(): ReadonlyMap<string, readonly string[]> {
    return this.shards;
  }
}

/**
 * The lanes this process knows, for producers that have no Nest container at hand
 * (`enqueueTask` inside a transaction): `TasksModule` registers its work queues here.
 */
export const processLanes = new OrderedLanes();

/**
 * The header that routes an ordered task to its shard: the value of its key field.
 * A missing, empty or non-scalar key is the producer's bug, refused before anything is
 * written or published.
 */
export function orderKeyHeader(
  task: string,
  route: OrderedRoute,
  kwargs: Record<string, unknown>,
): Record<string, string> {
  const value = kwargs[route.field];
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'bigint') {
    throw new TypeError(`ordered task ${task} needs a string or number ${route.field} to order by`);
  }
  const key = String(value);
  if (key.length === 0 || key.length > ORDER_KEY_LENGTH_MAX) {
    throw new TypeError(
      `ordered task ${task}: ${route.field} is 1 to ${ORDER_KEY_LENGTH_MAX} characters`,
    );
  }
  return { [ORDER_KEY_HEADER]: key };
}

/**
 * Checks at boot that the handlers and the lanes agree: a handler with `orderedBy` is
 * declared in a lane by the same field, a task declared ordered has `orderedBy`, and an
 * ordered handler names no other queue and is no batch task (a batch runs many at once).
 */
export function assertHandlersAgree(
  handlers: Iterable<[string, TaskHandlerOptions]>,
  lanes: OrderedLanes,
): void {
  for (const [task, options] of handlers) {
    const route = lanes.routeOf(task);
    if (options.orderedBy === undefined) {
      assert(route === undefined, `task ${task} is ordered in lane ${route?.lane}: add orderedBy`);
      continue;
    }
    assert(route !== undefined, `task ${task} has orderedBy but no ordered lane declares it`);
    assert(
      route.field === options.orderedBy,
      `task ${task} is ordered by ${options.orderedBy}, its lane ${route.lane} says ${route.field}`,
    );
    assert(
      options.queue === undefined || options.queue === route.lane,
      `ordered task ${task} names queue ${options.queue}, its lane is ${route.lane}`,
    );
    assert(options.batch === undefined, `ordered task ${task} cannot be a batch task`);
  }
}
