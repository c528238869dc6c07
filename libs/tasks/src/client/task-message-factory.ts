import { hostname } from 'node:os';
import {
  encodeTask,
  newTaskId,
  type CeleryEmbed,
  type EncodedTask,
} from '../protocol/celery-message';
import { runningTask } from '../canvas/workflow-scope';
import { delayRoute, TASK_EXCHANGE } from '../topology';
import { orderKeyHeader, processLanes, type OrderedLanes } from '../ordered/ordered-lanes';
import { CELERY_DEFAULT_QUEUE, defaultQueue, type SendOptions } from './send-options';
import { injectTraceContext } from '../tracing/task-tracing';

export interface RoutedTask {
  id: string;
  queue: string;
  exchange: string;
  routingKey: string;
  encoded: EncodedTask;
}

export const ORIGIN = `${process.pid}@${hostname()}`;

function toKwargs(payload: unknown): Record<string, unknown> {
  if (payload === undefined || payload === null) return {};
  if (typeof payload === 'object' && !Array.isArray(payload))
    return payload as Record<string, unknown>;
  throw new TypeError(
    'a task payload is an object of keyword arguments; use options.args for positional ones',
  );
}

/** The default exchange: it routes to the queue its routing key names, as Celery's `queue=`. */
const DEFAULT_EXCHANGE = '';

/**
 * Encodes a task and chooses its route: straight to its queue, or through the delay
 * levels. An ordered task goes to its lane with its order key in a header. A task for a
 * Python Celery worker (`worker: 'celery'`) goes through the default exchange to its
 * queue by name, its eta in the header only.
 */
export function buildTask(
  task: string,
  payload: unknown,
  options: SendOptions & { embed?: Partial<CeleryEmbed> } = {},
  lanes: OrderedLanes = processLanes,
): RoutedTask {
  const id = options.id ?? newTaskId();
  // Sent while a handler runs: the task joins that handler's workflow tree.
  const running = runningTask();
  const ordered = lanes.routeOf(task);
  const celery = options.worker === 'celery';
  if (ordered && celery) {
    throw new TypeError(`ordered task ${task} goes to its lane ${ordered.lane}, not to Celery`);
  }
  if (ordered && options.queue !== undefined && options.queue !== ordered.lane) {
    throw new TypeError(
      `ordered task ${task} goes to its lane ${ordered.lane}, not ${options.queue}`,
    );
  }
  const queue =
    ordered?.lane ?? options.queue ?? (celery ? CELERY_DEFAULT_QUEUE : defaultQueue(task));
  const now = Date.now();
  const eta =
    options.eta ?? (options.countdownMs !== undefined ? new Date(now + options.countdownMs) : null);
  const expires =
    typeof options.expires === 'number'
      ? new Date(now + options.expires)
      : (options.expires ?? null);
  const encoded = encodeTask({
    task,
    id,
    args: options.args ?? [],
    kwargs: toKwargs(payload),
    eta,
    expires,
    rootId: options.rootId ?? running?.rootId ?? id,
    parentId: options.parentId ?? running?.id ?? null,
    group: options.group ?? null,
    groupIndex: options.groupIndex ?? null,
    timeLimitSoftS: options.timeLimitSoftS ?? null,
    timeLimitHardS: options.timeLimitHardS ?? null,
    origin: ORIGIN,
    ignoreResult: options.ignoreResult ?? false,
    replyTo: options.replyTo ?? null,
    ...(options.embed ? { embed: options.embed } : {}),
  });
  // The sender's trace continues in the worker (W3C traceparent; nothing if tracing is off).
  injectTraceContext(encoded.properties.headers as Record<string, unknown>);
  if (ordered) {
    encoded.properties.headers = {
      ...(encoded.properties.headers as Record<string, unknown>),
      ...orderKeyHeader(task, ordered, toKwargs(payload)),
    };
  }
  const delayMs = eta ? eta.getTime() - now : 0;
  const route = celery
    ? { exchange: DEFAULT_EXCHANGE, routingKey: queue }
    : delayMs > 0
      ? delayRoute(queue, delayMs)
      : { exchange: TASK_EXCHANGE, routingKey: queue };
  return { id, queue, ...route, encoded };
}
