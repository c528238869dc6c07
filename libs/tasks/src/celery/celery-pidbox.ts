/**
 * Celery's remote control ("pidbox", `kombu/pidbox.py` and `celery/worker/control.py`)
 * as a Clearline worker speaks it, so `celery inspect …`, `celery control …` and Flower
 * work against our workers.
 *
 * Requests are broadcast on the fanout exchange `celery.pidbox`; each worker consumes
 * them from its own queue `<node>.celery.pidbox`. A request is JSON
 * `{method, arguments, destination, pattern, matcher, ticket?, reply_to?}`; a worker it
 * is addressed to runs the command and, when the request has a `reply_to`, publishes
 * `{<node>: <answer>}` to `reply_to.exchange` with `reply_to.routing_key`, header
 * `ticket` (which request it answers) and `clock`.
 */

/** The fanout exchange Celery broadcasts commands on (`<control_exchange>.pidbox`). */
export const PIDBOX_EXCHANGE = 'celery.pidbox';
/** Where answers go (`reply.<control_exchange>.pidbox`); the only one a worker answers to. */
export const PIDBOX_REPLY_EXCHANGE = 'reply.celery.pidbox';
/** Both exchanges as kombu's `Mailbox` declares them: not durable, not auto-delete. */
export const PIDBOX_EXCHANGE_OPTIONS = { durable: false, autoDelete: false, internal: false };
/** Celery's `control_queue_expires` (10 s) as RabbitMQ's `x-expires`, in milliseconds. */
export const PIDBOX_QUEUE_EXPIRES_MS = 10_000;
/** Celery's `control_queue_ttl` (300 s) as RabbitMQ's `x-message-ttl`, in milliseconds. */
export const PIDBOX_MESSAGE_TTL_MS = 300_000;

/** A worker's pidbox queue, as `Mailbox.get_queue(hostname)` names it. */
export function pidboxQueueName(node: string): string {
  return `${node}.celery.pidbox`;
}

/**
 * The declaration Celery makes of a worker's pidbox queue: not durable, auto-delete,
 * not exclusive, with these two arguments exactly (integers), so either side may
 * declare it first without a PRECONDITION_FAILED.
 */
export const PIDBOX_QUEUE_OPTIONS = {
  durable: false,
  autoDelete: true,
  exclusive: false,
  arguments: {
    'x-expires': PIDBOX_QUEUE_EXPIRES_MS,
    'x-message-ttl': PIDBOX_MESSAGE_TTL_MS,
  },
};

/** One remote-control request. */
export interface PidboxRequest {
  method: string;
  arguments: Record<string, unknown>;
  /** Node names it is for; null: every node. */
  destination: string[] | null;
  pattern: string | null;
  matcher: string | null;
  /** Present when the sender waits for answers. */
  ticket: string | null;
  replyTo: { exchange: string; routingKey: string } | null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** A request from the wire, or null when it is not one (a worker ignores it). */
export function decodePidboxRequest(content: Buffer): PidboxRequest | null {
  let body: unknown;
  try {
    body = JSON.parse(content.toString('utf8'));
  } catch {
    return null;
  }
  if (!isRecord(body) || typeof body['method'] !== 'string') return null;
  const args = body['arguments'];
  const destination = body['destination'];
  const replyTo = body['reply_to'];
  return {
    method: body['method'],
    arguments: isRecord(args) ? args : {},
    destination: Array.isArray(destination)
      ? destination.filter((node): node is string => typeof node === 'string')
      : null,
    pattern: stringOrNull(body['pattern']),
    matcher: stringOrNull(body['matcher']),
    ticket: stringOrNull(body['ticket']),
    replyTo:
      isRecord(replyTo) &&
      typeof replyTo['exchange'] === 'string' &&
      typeof replyTo['routing_key'] === 'string'
        ? { exchange: replyTo['exchange'], routingKey: replyTo['routing_key'] }
        : null,
  };
}

/** Python's `fnmatch` pattern as a regular expression (`*`, `?`, `[seq]`, `[!seq]`). */
function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const char = pattern.charAt(i);
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else if (char === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) source += '\\[';
      else {
        let set = pattern.slice(i + 1, end).replace(/\\/g, '\\\\');
        if (set.startsWith('!')) set = `^${set.slice(1)}`;
        source += `[${set}]`;
        i = end;
      }
    } else source += char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

/**
 * Whether a request is for this node, as kombu's `Node.handle_message` decides: listed
 * in `destination`, or matching `pattern` by `matcher` (`glob`, the default, or `pcre`,
 * anchored at the start as Python's `re.match`), or sent to every node.
 */
export function addressedTo(request: PidboxRequest, node: string): boolean {
  if (request.destination && request.destination.length > 0) {
    return request.destination.includes(node);
  }
  if (request.pattern !== null && request.matcher !== null) {
    try {
      if (request.matcher === 'glob') return globToRegExp(request.pattern).test(node);
      if (request.matcher === 'pcre') return new RegExp(`^(?:${request.pattern})`).test(node);
    } catch {
      return false;
    }
    return false;
  }
  return true;
}

/** `celery.worker.control.ok`. */
export function ok(value: unknown): { ok: unknown } {
  return { ok: value };
}

/** `celery.worker.control.nok`. */
export function nok(value: unknown): { error: unknown } {
  return { error: value };
}

/** `Request.info()`: one task a worker holds, as `inspect active|reserved` lists it. */
export interface CeleryRequestInfo {
  id: string;
  name: string;
  /** The producer's `argsrepr` (Celery's `safe` form: what the producer chose to show). */
  args: string;
  kwargs: string;
  type: string;
  hostname: string;
  /** Epoch seconds the handler began; null while it waits. */
  time_start: number | null;
  /** Acks-late: a task is acknowledged only once its outcome is committed. */
  acknowledged: boolean;
  delivery_info: { exchange: string; routing_key: string; priority: number; redelivered: boolean };
  worker_pid: number | null;
}

/** What a worker knows of a message it holds, for {@link requestInfo}. */
export interface HeldMessage {
  id: string;
  name: string;
  headers: Record<string, unknown>;
  exchange: string;
  routingKey: string;
  priority: number;
  redelivered: boolean;
  /** Epoch ms its handler began; null while it waits. */
  startedAtMs: number | null;
}

function reprHeader(headers: Record<string, unknown>, name: string, empty: string): string {
  const value = headers[name];
  return typeof value === 'string' ? value : empty;
}

export function requestInfo(held: HeldMessage, node: string): CeleryRequestInfo {
  return {
    id: held.id,
    name: held.name,
    args: reprHeader(held.headers, 'argsrepr', '()'),
    kwargs: reprHeader(held.headers, 'kwargsrepr', '{}'),
    type: held.name,
    hostname: node,
    time_start: held.startedAtMs === null ? null : held.startedAtMs / 1000,
    acknowledged: false,
    delivery_info: {
      exchange: held.exchange,
      routing_key: held.routingKey,
      priority: held.priority,
      redelivered: held.redelivered,
    },
    worker_pid: held.startedAtMs === null ? null : process.pid,
  };
}

/**
 * The broker as `inspect stats` shows it (`Connection.info()`), from the worker's AMQP
 * URL. The password is never included.
 */
export function brokerInfo(amqpUrl: string, heartbeatS: number): Record<string, unknown> {
  const url = new URL(amqpUrl);
  const ssl = url.protocol === 'amqps:';
  const vhost = decodeURIComponent(url.pathname.replace(/^\//, ''));
  return {
    hostname: url.hostname,
    userid: decodeURIComponent(url.username),
    virtual_host: vhost === '' ? '/' : vhost,
    port: url.port === '' ? (ssl ? 5671 : 5672) : Number(url.port),
    insist: false,
    ssl,
    transport: 'amqp',
    connect_timeout: 4,
    transport_options: {},
    login_method: 'PLAIN',
    uri_prefix: null,
    heartbeat: heartbeatS,
    failover_strategy: 'round-robin',
    alternates: [],
  };
}

/** What `inspect stats` answers, from the worker's figures. */
export interface WorkerFigures {
  /** Runs ended, by task name (Celery's `total`). */
  processed: Record<string, number>;
  uptimeS: number;
  clock: number;
  /** Handlers the worker may run at once, all lanes together (the pool's size). */
  concurrency: number;
  prefetch: number;
  /** The default hard time limit of a task, seconds. */
  timeLimitHardS: number;
  broker: Record<string, unknown>;
  /** Clearline's own figures (lanes, queues, revocations held), beside Celery's. */
  clearline: Record<string, unknown>;
}

/** `Worker.stats()`: Celery's keys (`total`, `pid`, `clock`, `uptime`, `pool`, `broker`, …). */
export function statsReply(figures: WorkerFigures): Record<string, unknown> {
  const usage = process.resourceUsage();
  return {
    total: figures.processed,
    pid: process.pid,
    clock: String(figures.clock),
    uptime: figures.uptimeS,
    pool: {
      'max-concurrency': figures.concurrency,
      processes: [process.pid],
      'max-tasks-per-child': 'N/A',
      'put-guarded-by-semaphore': false,
      timeouts: [0, figures.timeLimitHardS],
    },
    broker: figures.broker,
    prefetch_count: figures.prefetch,
    rusage: {
      utime: usage.userCPUTime / 1e6,
      stime: usage.systemCPUTime / 1e6,
      maxrss: usage.maxRSS,
      minflt: usage.minorPageFault,
      majflt: usage.majorPageFault,
      inblock: usage.fsRead,
      oublock: usage.fsWrite,
      nvcsw: usage.voluntaryContextSwitches,
      nivcsw: usage.involuntaryContextSwitches,
    },
    clearline: figures.clearline,
  };
}

/** A queue as `inspect active_queues` lists it (`Queue.as_dict(recurse=True)`). */
export function queueInfo(queue: string, exchange: string): Record<string, unknown> {
  return {
    name: queue,
    exchange: {
      name: exchange,
      type: 'direct',
      arguments: null,
      durable: true,
      passive: false,
      auto_delete: false,
      delivery_mode: null,
      no_declare: false,
    },
    routing_key: queue,
    queue_arguments: { 'x-queue-type': 'quorum' },
    binding_arguments: null,
    consumer_arguments: null,
    durable: true,
    exclusive: false,
    auto_delete: false,
    no_ack: false,
    alias: null,
    bindings: [],
    no_declare: null,
    expires: null,
    message_ttl: null,
    max_length: null,
    max_length_bytes: null,
    max_priority: null,
  };
}

/** The task ids of a revoke (`celery control revoke a b` sends a list, the API a string). */
export function taskIdsOf(value: unknown): string[] {
  const ids = Array.isArray(value) ? value : [value];
  return ids.filter((id): id is string => typeof id === 'string' && id.length > 0);
}

/** What a worker offers the remote-control commands. */
export interface PidboxWorker {
  readonly node: string;
  active(): CeleryRequestInfo[];
  reserved(): CeleryRequestInfo[];
  registered(): string[];
  stats(): Record<string, unknown>;
  /** The revocations in force (Clearline's: persisted, shared by every worker). */
  revokedIds(): Promise<string[]>;
  /**
   * Revokes as Clearline's own revoke does (persisted, broadcast to every worker);
   * resolves with the ids of those that were running here and were terminated.
   */
  revoke(taskIds: string[], terminate: boolean): Promise<string[]>;
  activeQueues(): Record<string, unknown>[];
  clock(): number;
  /** Sends a heartbeat event now. */
  heartbeat(): void;
  /** Turns task events on or off; false when events are off by configuration. */
  setTaskEvents(on: boolean): { changed: boolean } | false;
}

/** Request ids of `query_task`: `{id: [state, info]}` for those this worker holds. */
function queryTask(worker: PidboxWorker, ids: string[]): Record<string, unknown> {
  const found: Record<string, unknown> = {};
  for (const info of worker.active()) if (ids.includes(info.id)) found[info.id] = ['active', info];
  for (const info of worker.reserved()) {
    if (ids.includes(info.id)) found[info.id] = ['reserved', info];
  }
  return found;
}

async function revoke(
  worker: PidboxWorker,
  args: Record<string, unknown>,
  terminate: boolean,
): Promise<unknown> {
  const ids = taskIdsOf(args['task_id']);
  if (ids.length === 0) return nok('no task id to revoke');
  const terminated = await worker.revoke(ids, terminate);
  if (terminate) {
    return ok(
      terminated.length === 0 ? 'terminate: tasks unknown' : `terminate: ${terminated.join(', ')}`,
    );
  }
  return ok(`tasks ${ids.join(', ')} flagged as revoked`);
}

function events(worker: PidboxWorker, on: boolean): unknown {
  const outcome = worker.setTaskEvents(on);
  if (outcome === false) return nok('events are turned off on this worker (TASK_EVENTS=0)');
  const state = on ? 'enabled' : 'disabled';
  return ok(outcome.changed ? `task events ${state}` : `task events already ${state}`);
}

/**
 * Runs one command and returns its answer in Celery's shape; an unknown command is
 * answered with an error, as kombu answers a handler's KeyError. `undefined` is an
 * answer too (Celery's `heartbeat` returns None).
 */
export async function runPidboxCommand(
  worker: PidboxWorker,
  method: string,
  args: Record<string, unknown>,
): Promise<unknown> {
  switch (method) {
    case 'ping':
      return ok('pong');
    case 'active':
    case 'dump_active':
      return worker.active();
    case 'reserved':
    case 'dump_reserved':
      return worker.reserved();
    case 'scheduled':
    case 'dump_schedule':
      // An eta task waits in the broker's delay queues, not in the worker.
      return [];
    case 'registered':
    case 'dump_tasks':
      return worker.registered();
    case 'stats':
      return worker.stats();
    case 'revoked':
    case 'dump_revoked':
      return worker.revokedIds();
    case 'query_task':
      return queryTask(worker, taskIdsOf(args['ids']));
    case 'active_queues':
      return worker.activeQueues();
    case 'clock':
      return { clock: worker.clock() };
    case 'revoke':
      return revoke(worker, args, args['terminate'] === true);
    case 'terminate':
      return revoke(worker, args, true);
    case 'heartbeat':
      worker.heartbeat();
      return undefined;
    case 'enable_events':
      return events(worker, true);
    case 'disable_events':
      return events(worker, false);
    default:
      return nok(`No such command on a Clearline worker: ${method}`);
  }
}
