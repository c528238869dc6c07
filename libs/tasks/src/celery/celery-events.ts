/**
 * Celery's monitoring events, in the exact shape Python Celery 5 publishes them
 * (`celery/events/dispatcher.py`, `worker/strategy.py`, `worker/request.py`,
 * `worker/heartbeat.py`), so `celery events`, `app.events.Receiver` and Flower read
 * Clearline's workers as their own.
 *
 * An event is one JSON object: its fields, plus `hostname` (the node), `utcoffset`
 * (hours west of UTC, as Python's `time.timezone // 3600`), `pid`, `clock` (a Lamport
 * clock), `timestamp` (epoch seconds) and `type`. It is published on the `celeryev`
 * topic exchange with the routing key `type` with `-` made `.` (`task.succeeded`),
 * transient, `application/json`, header `hostname`.
 */
import { hostname, loadavg, type as osType } from 'node:os';
import type { ResultUpdate } from '../results/task-state';
import { exceptionRepr, pythonRepr, REPR_LENGTH_MAX } from './python-repr';

/** Celery's `event_exchange`: a topic exchange, declared durable (kombu's default). */
export const EVENT_EXCHANGE = 'celeryev';
/** As Celery declares it on every publish; another declaration would be refused. */
export const EVENT_EXCHANGE_OPTIONS = { durable: true, autoDelete: false, internal: false };
/** Seconds between worker heartbeats: Celery's default `freq`. */
export const HEARTBEAT_FREQ_S = 2;

/** What a monitor shows as the worker's software (`sw_ident sw_ver sw_sys`). */
export const SOFTWARE_INFO = {
  sw_ident: 'clearline-node',
  sw_ver: process.versions.node,
  sw_sys: osType(),
} as const;

export type TaskEventType =
  | 'task-sent'
  | 'task-received'
  | 'task-started'
  | 'task-succeeded'
  | 'task-failed'
  | 'task-retried'
  | 'task-revoked';
export type WorkerEventType = 'worker-online' | 'worker-heartbeat' | 'worker-offline';
export type CeleryEventType = TaskEventType | WorkerEventType;

/** The fields every event carries. */
export interface EventEnvelope {
  type: CeleryEventType;
  hostname: string;
  utcoffset: number;
  pid: number;
  clock: number;
  timestamp: number;
}

export type CeleryEvent = EventEnvelope & Record<string, unknown>;

/**
 * A Lamport clock, as Celery's `app.clock`: every event sent moves it forward; a
 * message from another node carrying its clock moves it past that one.
 */
export class EventClock {
  private value = 0;

  get current(): number {
    return this.value;
  }

  forward(): number {
    this.value += 1;
    return this.value;
  }

  adjust(other: number): number {
    this.value = Math.max(this.value, Number.isFinite(other) ? other : 0) + 1;
    return this.value;
  }
}

/** The process's clock: one node per process, as in Celery. */
export const eventClock = new EventClock();

/** Python's `celery.utils.time.utcoffset()`: hours west of UTC, rounded down. */
export function utcoffsetHours(now: Date = new Date()): number {
  return Math.floor(now.getTimezoneOffset() / 60);
}

/** The routing key of an event on the topic exchange. */
export function eventRoutingKey(type: CeleryEventType): string {
  return type.replace(/-/g, '.');
}

/** Celery's `anon_nodename()`: what a client (not a worker) names itself in events. */
export function clientNodename(pid: number = process.pid): string {
  return `gen${pid}@${hostname()}`;
}

/** One event, stamped with the node, the clock and the time. */
export function celeryEvent(
  type: CeleryEventType,
  node: string,
  fields: Record<string, unknown>,
  clock: EventClock = eventClock,
  now: Date = new Date(),
): CeleryEvent {
  return {
    hostname: node,
    utcoffset: utcoffsetHours(now),
    pid: process.pid,
    clock: clock.forward(),
    ...fields,
    timestamp: now.getTime() / 1000,
    type,
  };
}

function headerString(headers: Record<string, unknown>, name: string): string | null {
  const value = headers[name];
  return typeof value === 'string' ? value : null;
}

/** A repr from a header, bounded; the producer may have masked it (Celery's `argsrepr`). */
function headerRepr(headers: Record<string, unknown>, name: string, empty: string): string {
  const value = headerString(headers, name);
  if (value === null) return empty;
  return value.length > REPR_LENGTH_MAX ? `${value.slice(0, REPR_LENGTH_MAX)}...` : value;
}

/**
 * The fields a task's message gives `task-sent` and `task-received`: its id and name,
 * the reprs of its arguments as its producer wrote them, its place in a workflow,
 * retries, eta and expiry. Null for a message without a task id and name.
 */
export function taskMessageFields(
  headers: Record<string, unknown>,
): Record<string, unknown> | null {
  const id = headerString(headers, 'id');
  const task = headerString(headers, 'task');
  if (id === null || task === null) return null;
  const retries = headers['retries'];
  return {
    uuid: id,
    name: task,
    args: headerRepr(headers, 'argsrepr', '()'),
    kwargs: headerRepr(headers, 'kwargsrepr', '{}'),
    root_id: headerString(headers, 'root_id') ?? id,
    parent_id: headerString(headers, 'parent_id'),
    retries: typeof retries === 'number' ? retries : 0,
    eta: headerString(headers, 'eta'),
    expires: headerString(headers, 'expires'),
  };
}

/** Where a sent task went (`task-sent` adds them to the message's fields). */
export interface SentRoute {
  queue: string;
  exchange: string;
  routingKey: string;
}

/** `task-sent`, as `app.amqp.send_task_message` publishes it. */
export function taskSentFields(
  headers: Record<string, unknown>,
  route: SentRoute,
): Record<string, unknown> | null {
  const fields = taskMessageFields(headers);
  if (!fields) return null;
  return {
    ...fields,
    queue: route.queue,
    exchange: route.exchange,
    routing_key: route.routingKey,
  };
}

/** How a recorded state change ended a run, for the event that says so. */
export interface RecordedRun {
  /** Seconds since the handler began (`task-succeeded`'s `runtime`); 0 if unknown. */
  runtimeS: number;
  /** The run was stopped by a terminating revoke (`task-revoked`'s `terminated`). */
  terminated: boolean;
}

/**
 * The event a recorded state change means, with its fields: SUCCESS `task-succeeded`
 * (`result` repr, `runtime`), FAILURE `task-failed` and RETRY `task-retried`
 * (`exception` repr, `traceback`), REVOKED `task-revoked` (`terminated`, `signum`,
 * `expired`). Null for states that have no event of their own here (STARTED is sent
 * when the handler begins; PENDING and RECEIVED are never recorded by a worker).
 */
export function taskOutcomeEvent(
  update: ResultUpdate,
  run: RecordedRun,
): { type: TaskEventType; fields: Record<string, unknown> } | null {
  const uuid = update.id;
  const exception = (): Record<string, unknown> => ({
    exception: exceptionRepr(update.errorType ?? 'Error', update.errorMessage ?? ''),
    traceback: update.traceback ?? null,
  });
  switch (update.state) {
    case 'SUCCESS':
      return {
        type: 'task-succeeded',
        fields: { uuid, result: pythonRepr(update.result), runtime: run.runtimeS },
      };
    case 'FAILURE':
      return { type: 'task-failed', fields: { uuid, ...exception() } };
    case 'RETRY':
      return { type: 'task-retried', fields: { uuid, ...exception() } };
    case 'REVOKED':
      return {
        type: 'task-revoked',
        fields: {
          uuid,
          terminated: run.terminated,
          // Celery reports the signal that ended the process; a terminated Clearline
          // handler is aborted as by SIGTERM's number, which is what Celery sends by default.
          signum: run.terminated ? '15' : null,
          expired: update.errorType === 'TaskExpired',
        },
      };
    case 'PENDING':
    case 'RECEIVED':
    case 'STARTED':
      return null;
  }
}

/** A worker's vital signs, as `worker-online`, `-heartbeat` and `-offline` carry them. */
export function workerEventFields(load: {
  active: number;
  processed: number;
}): Record<string, unknown> {
  return {
    freq: HEARTBEAT_FREQ_S,
    active: load.active,
    processed: load.processed,
    loadavg: loadavg().map((value) => Math.round(value * 100) / 100),
    ...SOFTWARE_INFO,
  };
}
