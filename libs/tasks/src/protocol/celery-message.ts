import { randomUUID } from 'node:crypto';
import type { Options } from 'amqplib';
import { embedProblem } from '../canvas/signature-dict';
import { pythonRepr } from './python-repr';

/**
 * Celery message protocol version 2, JSON serializer.
 *
 * A task message carries its metadata in AMQP headers and its arguments in a
 * JSON body `[args, kwargs, embed]`. Python Celery 5 clients and workers read
 * and write exactly this shape, which is why it is spelled out field by field.
 */
export interface CeleryHeaders {
  lang: string;
  task: string;
  id: string;
  shadow: string | null;
  eta: string | null;
  expires: string | null;
  group: string | null;
  group_index: number | null;
  retries: number;
  timelimit: [number | null, number | null];
  root_id: string;
  parent_id: string | null;
  argsrepr: string;
  kwargsrepr: string;
  origin: string;
  ignore_result: boolean;
  /** How many times the task was replaced (`self.replace`); Celery 5.3 sends it always. */
  replaced_task_nesting: number;
  /** Celery 5.3's stamping: none from us, written as Celery writes "none". */
  stamped_headers: string[] | null;
  stamps: Record<string, unknown>;
}

export interface CeleryEmbed {
  callbacks: unknown[] | null;
  errbacks: unknown[] | null;
  chain: unknown[] | null;
  chord: unknown;
}

export type CeleryBody = [unknown[], Record<string, unknown>, CeleryEmbed];

/** What a producer says about one task; everything but the name is optional. */
export interface TaskMessageInit {
  task: string;
  id?: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  retries?: number;
  eta?: Date | null;
  expires?: Date | null;
  rootId?: string;
  parentId?: string | null;
  group?: string | null;
  groupIndex?: number | null;
  timeLimitSoftS?: number | null;
  timeLimitHardS?: number | null;
  origin: string;
  ignoreResult?: boolean;
  embed?: Partial<CeleryEmbed>;
  /**
   * Where the worker sends the result as a message (AMQP `reply_to`), as Celery's `rpc://`
   * result backend expects: a queue of the caller's. Null: results only in PostgreSQL.
   */
  replyTo?: string | null;
}

/** A decoded task message, as the worker sees it. */
export interface TaskMessage {
  id: string;
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  embed: CeleryEmbed;
  retries: number;
  eta: Date | null;
  expires: Date | null;
  rootId: string;
  parentId: string | null;
  group: string | null;
  groupIndex: number | null;
  timeLimitSoftS: number | null;
  timeLimitHardS: number | null;
  origin: string;
  ignoreResult: boolean;
  /** The caller's reply queue (AMQP `reply_to`): the result goes there as well; null when none. */
  replyTo: string | null;
  /** AMQP `correlation_id`: what a reply is correlated by (Celery sets the task id). */
  correlationId: string;
}

export interface EncodedTask {
  content: Buffer;
  properties: Options.Publish;
}

const EMPTY_EMBED: CeleryEmbed = { callbacks: null, errbacks: null, chain: null, chord: null };

export function newTaskId(): string {
  return randomUUID();
}

/** Builds the AMQP body and properties of a protocol-2 task message. */
export function encodeTask(init: TaskMessageInit): EncodedTask {
  const id = init.id ?? newTaskId();
  const args = init.args ?? [];
  const kwargs = init.kwargs ?? {};
  const headers: CeleryHeaders = {
    lang: 'py',
    task: init.task,
    id,
    shadow: null,
    eta: init.eta ? init.eta.toISOString() : null,
    expires: init.expires ? init.expires.toISOString() : null,
    group: init.group ?? null,
    group_index: init.groupIndex ?? null,
    retries: init.retries ?? 0,
    timelimit: [init.timeLimitHardS ?? null, init.timeLimitSoftS ?? null],
    root_id: init.rootId ?? id,
    parent_id: init.parentId ?? null,
    // Python's repr, cut at 1,024 characters, secrets redacted (python-repr.ts).
    argsrepr: pythonRepr(args),
    kwargsrepr: pythonRepr(kwargs),
    origin: init.origin,
    ignore_result: init.ignoreResult ?? false,
    replaced_task_nesting: 0,
    stamped_headers: null,
    stamps: {},
  };
  const body: CeleryBody = [args, kwargs, { ...EMPTY_EMBED, ...init.embed }];
  return {
    content: Buffer.from(JSON.stringify(body)),
    properties: {
      messageId: id,
      correlationId: id,
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      deliveryMode: 2,
      priority: 0,
      headers,
      ...(init.replyTo ? { replyTo: init.replyTo } : {}),
    },
  };
}

/** A message that is not a task this layer can run; it goes to the dead-letter queue. */
export class MalformedTaskError extends Error {
  override readonly name = 'MalformedTaskError';
}

function optionalDate(value: unknown, field: string): Date | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') throw new MalformedTaskError(`header ${field} is not a string`);
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new MalformedTaskError(`header ${field} is not a date`);
  return date;
}

/**
 * The largest message body a worker reads (8 MiB): a chord's callback with 100,000
 * results is well below; a bigger body is dead-lettered `malformed` before it is parsed.
 */
export const TASK_MESSAGE_BYTES_MAX = 8 * 1024 * 1024;
/** The longest id, task name or lineage header (Celery's ids are 36 characters). */
export const TASK_HEADER_LENGTH_MAX = 255;
/** The largest `retries` or `group_index` (PostgreSQL's `integer`). */
const COUNT_MAX = 2_147_483_647;
/** The longest time limit a message may ask for: a week. */
const TIME_LIMIT_S_MAX = 7 * 24 * 3600;
// eslint-disable-next-line no-control-regex -- control characters are what it finds
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/** An identifier header: text of 1–255 characters with no control character (no NUL). */
function identifier(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new MalformedTaskError(`header ${field} is missing`);
  }
  if (value.length > TASK_HEADER_LENGTH_MAX) {
    throw new MalformedTaskError(`header ${field} is longer than ${TASK_HEADER_LENGTH_MAX}`);
  }
  if (CONTROL_CHARACTERS.test(value)) {
    throw new MalformedTaskError(`header ${field} has a control character`);
  }
  return value;
}

function optionalString(value: unknown, field: string): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') throw new MalformedTaskError(`header ${field} is not a string`);
  return identifier(value, field);
}

/** A count header (`retries`, `group_index`): a whole number from 0 to PostgreSQL's `integer`. */
function optionalCount(value: unknown, field: string): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > COUNT_MAX) {
    throw new MalformedTaskError(`header ${field} is not a whole number from 0 to ${COUNT_MAX}`);
  }
  return value;
}

/** A time limit in seconds: positive, at most a week. */
function optionalTimeLimit(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number' || !(value > 0) || value > TIME_LIMIT_S_MAX) {
    throw new MalformedTaskError(
      `header timelimit is not a number of seconds from 0 to ${TIME_LIMIT_S_MAX}`,
    );
  }
  return value;
}

/** The marker of kombu's typed JSON values (kombu 5.3+): `{"__type__": …, "__value__": …}`. */
const KOMBU_TYPE_MARKER = Buffer.from('"__type__"');

/**
 * A kombu typed value as a handler can validate it, never a float: `decimal` → its exact
 * text (`Decimal("1250")` → `"1250"`, which a minor-units DTO accepts and `"12.50"` it
 * refuses); `datetime`, `date`, `time` → their ISO text; `uuid` → its text; `bytes` (UTF-8
 * text) and `base64` → a Buffer. Anything else is left as it came.
 */
function reviveKombuValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const record = value as Record<string, unknown>;
  const type = record['__type__'];
  const inner = record['__value__'];
  if (typeof type !== 'string' || !('__value__' in record) || Object.keys(record).length !== 2) {
    return value;
  }
  switch (type) {
    case 'decimal':
    case 'datetime':
    case 'date':
    case 'time':
      return typeof inner === 'string' ? inner : value;
    case 'uuid': {
      if (typeof inner === 'string') return inner;
      const hex = (inner as Record<string, unknown> | null)?.['hex'];
      return typeof hex === 'string' && /^[0-9a-f]{32}$/i.test(hex)
        ? `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`.toLowerCase()
        : value;
    }
    case 'bytes':
      return typeof inner === 'string' ? Buffer.from(inner, 'utf8') : value;
    case 'base64':
      return typeof inner === 'string' ? Buffer.from(inner, 'base64') : value;
    default:
      return value;
  }
}

function parseBody(content: Buffer): CeleryBody {
  let body: unknown;
  try {
    // Typed values are rare: only a body that has the marker pays for the reviver.
    body = content.includes(KOMBU_TYPE_MARKER)
      ? JSON.parse(content.toString('utf8'), (_key, value: unknown) => reviveKombuValue(value))
      : JSON.parse(content.toString('utf8'));
  } catch {
    throw new MalformedTaskError('body is not valid JSON');
  }
  if (!Array.isArray(body) || body.length !== 3) {
    throw new MalformedTaskError('body is not [args, kwargs, embed]');
  }
  const [args, kwargs, embed] = body as unknown[];
  if (!Array.isArray(args)) throw new MalformedTaskError('body args is not a list');
  if (typeof kwargs !== 'object' || kwargs === null || Array.isArray(kwargs)) {
    throw new MalformedTaskError('body kwargs is not an object');
  }
  if (typeof embed !== 'object' || embed === null || Array.isArray(embed)) {
    throw new MalformedTaskError('body embed is not an object');
  }
  const problem = embedProblem(embed as Record<string, unknown>);
  if (problem) throw new MalformedTaskError(`body embed ${problem}`);
  return [args, kwargs as Record<string, unknown>, { ...EMPTY_EMBED, ...embed }];
}

/** Reads a protocol-2 message; throws {@link MalformedTaskError} naming what is wrong. */
export function decodeTask(
  content: Buffer,
  properties: {
    headers?: Record<string, unknown>;
    contentType?: string | undefined;
    replyTo?: unknown;
    correlationId?: unknown;
  },
): TaskMessage {
  const headers = properties.headers ?? {};
  if (content.length > TASK_MESSAGE_BYTES_MAX) {
    throw new MalformedTaskError(
      `body of ${content.length} bytes is larger than ${TASK_MESSAGE_BYTES_MAX}`,
    );
  }
  if (properties.contentType !== undefined && properties.contentType !== 'application/json') {
    throw new MalformedTaskError(`content type ${properties.contentType} is not application/json`);
  }
  const task = identifier(headers['task'], 'task');
  const id = identifier(headers['id'], 'id');
  const timelimit = Array.isArray(headers['timelimit']) ? (headers['timelimit'] as unknown[]) : [];
  const retries = optionalCount(headers['retries'], 'retries') ?? 0;
  const groupIndex = optionalCount(headers['group_index'], 'group_index');
  const [args, kwargs, embed] = parseBody(content);
  return {
    id,
    task,
    args,
    kwargs,
    embed,
    retries,
    eta: optionalDate(headers['eta'], 'eta'),
    expires: optionalDate(headers['expires'], 'expires'),
    rootId: optionalString(headers['root_id'], 'root_id') ?? id,
    parentId: optionalString(headers['parent_id'], 'parent_id'),
    group: optionalString(headers['group'], 'group'),
    groupIndex,
    timeLimitHardS: optionalTimeLimit(timelimit[0]),
    timeLimitSoftS: optionalTimeLimit(timelimit[1]),
    origin: optionalString(headers['origin'], 'origin') ?? 'unknown',
    ignoreResult: headers['ignore_result'] === true,
    replyTo: nonEmptyString(properties.replyTo),
    correlationId: nonEmptyString(properties.correlationId) ?? id,
  };
}

/** An AMQP property that is a string with something in it (Celery sends `''` for none). */
function nonEmptyString(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

/** The payload a handler receives: the kwargs, or the single positional argument. */
export function payloadOf(message: TaskMessage): unknown {
  if (message.args.length === 0) return message.kwargs;
  if (message.args.length === 1 && Object.keys(message.kwargs).length === 0) return message.args[0];
  return { args: message.args, ...message.kwargs };
}
