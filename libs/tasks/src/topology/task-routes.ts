import { strict as assert } from 'node:assert';
import { shardQueues, type WorkQueueSpec } from './topology';

/** The lane of a work queue that names none. */
export const TASK_LANE_DEFAULT = 'realtime';

/** How much of a lane one worker process takes at once. */
export interface LaneSettings {
  /** Unacknowledged deliveries the broker may push to each of the lane's consumers (`basic.qos`). */
  prefetch: number;
  /** The lane's handlers running at once in this process. */
  concurrency: number;
}

/** The queue named by a task name's first segment: `ledger.create_transfers` → `ledger`. */
export function firstSegment(task: string): string {
  const dot = task.indexOf('.');
  return dot > 0 ? task.slice(0, dot) : task;
}

/**
 * Where tasks go and which lane each queue is in, read from the work-queue specs every
 * service passes to `TasksModule` (Celery's `task_routes`): a task listed in a queue's
 * `tasks` goes there; any other task to the queue its name's first segment names.
 * Producers and workers route by the same table, so they always agree.
 */
export class TaskRoutes {
  private readonly routes = new Map<string, string>();
  private readonly queueLanes = new Map<string, string>();

  constructor(workQueues: readonly WorkQueueSpec[] = []) {
    this.add(workQueues);
  }

  /** Adds queues; a task routed in two places must be routed to the same queue. */
  add(workQueues: readonly WorkQueueSpec[]): void {
    for (const spec of workQueues) {
      const lane = spec.lane ?? TASK_LANE_DEFAULT;
      this.queueLanes.set(spec.name, lane);
      if (spec.ordered) {
        for (const shard of shardQueues(spec.name, spec.ordered.shards)) {
          this.queueLanes.set(shard, lane);
        }
      }
      for (const task of spec.tasks ?? []) {
        const queue = this.routes.get(task);
        assert(
          queue === undefined || queue === spec.name,
          `task ${task} is routed to two queues, ${queue} and ${spec.name}`,
        );
        this.routes.set(task, spec.name);
      }
    }
  }

  /** The queue a task is routed to explicitly; undefined when it goes by its name. */
  routeOf(task: string): string | undefined {
    return this.routes.get(task);
  }

  /** The queue a task goes to when the caller names none. */
  queueOf(task: string): string {
    return this.routes.get(task) ?? firstSegment(task);
  }

  /** The lane of a queue (or of an ordered lane's shard queue). */
  laneOf(queue: string): string {
    return this.queueLanes.get(queue) ?? TASK_LANE_DEFAULT;
  }

  /** Every lane with a queue, sorted. */
  get lanes(): string[] {
    return [...new Set(this.queueLanes.values())].sort();
  }
}

/**
 * The routes this process knows, for producers that have no Nest container at hand
 * (`enqueueTask` inside a transaction, workflow follow-ups): `TasksModule` registers
 * its work queues here.
 */
export const processRoutes = new TaskRoutes();

/**
 * Checks at boot that every handler consumes the queue its producers send it to: a
 * task routed in the work queues (`tasks`) whose `@Task(name, { queue })` names another
 * queue would wait on a queue that never fills. Unrouted tasks may name any queue
 * (their producers name it too).
 */
export function assertHandlersRouted(
  handlers: Iterable<[string, { queue?: string }]>,
  routes: TaskRoutes,
): void {
  for (const [task, options] of handlers) {
    const routed = routes.routeOf(task);
    assert(
      options.queue === undefined || routed === undefined || options.queue === routed,
      `task ${task} names queue ${options.queue}, its route in the work queues is ${routed}`,
    );
  }
}
