/**
 * Remote control of workers: commands broadcast on one fanout exchange, which every
 * worker consumes through its own exclusive, auto-delete queue. Commands are JSON in
 * the shape of Celery's pidbox (`{ method, arguments }`); inspect requests carry AMQP
 * `reply_to` and `correlation_id`, and each worker answers on its own.
 */
export { CONTROL_EXCHANGE } from '../topology';

/** What `inspect` can ask a worker. */
export const INSPECT_KINDS = ['active', 'reserved', 'stats', 'registered'] as const;
export type InspectKind = (typeof INSPECT_KINDS)[number];

/** A task running in a worker (`inspect active`). */
export interface ActiveTaskInfo {
  id: string;
  name: string;
  queue: string;
  /** When its handler began, ISO 8601. */
  startedAt: string;
  worker: string;
}

/** A task a worker holds, prefetched or waiting for a slot or a rate token (`inspect reserved`). */
export interface ReservedTaskInfo {
  id: string;
  name: string;
  queue: string;
  /** When the broker delivered it, ISO 8601. */
  receivedAt: string;
  worker: string;
}

/** A worker's vital signs (`inspect stats`). */
export interface WorkerStats {
  worker: string;
  pid: number;
  uptimeS: number;
  /** The realtime lane's (and any lane's without settings of its own). */
  concurrency: number;
  prefetch: number;
  /** Prefetch and concurrency of each lane the worker consumes. */
  lanes: Record<string, { prefetch: number; concurrency: number }>;
  /** Tasks whose run ended in this worker, by task name (Celery's `total`). */
  processed: Record<string, number>;
  queues: string[];
  /** Revocations the worker holds in memory. */
  revoked: number;
}

/** The answer of each kind. */
export interface InspectAnswers {
  active: ActiveTaskInfo[];
  reserved: ReservedTaskInfo[];
  stats: WorkerStats;
  registered: string[];
}

/** One worker's answer to an inspect request. */
export interface InspectReply<K extends InspectKind = InspectKind> {
  worker: string;
  kind: K;
  reply: InspectAnswers[K];
}

export interface RevokeCommand {
  method: 'revoke';
  arguments: { task_id: string; terminate: boolean; reason: string | null; expires_at_ms: number };
}

export interface InspectCommand {
  method: InspectKind;
  arguments: Record<string, never>;
}

export type ControlCommand = RevokeCommand | InspectCommand;

/** A command from the wire, or null when it is not one (a worker ignores it, never crashes). */
export function decodeCommand(content: Buffer): ControlCommand | null {
  let body: unknown;
  try {
    body = JSON.parse(content.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof body !== 'object' || body === null) return null;
  const { method, arguments: args } = body as { method?: unknown; arguments?: unknown };
  if ((INSPECT_KINDS as readonly unknown[]).includes(method)) {
    return { method: method as InspectKind, arguments: {} };
  }
  if (method !== 'revoke' || typeof args !== 'object' || args === null) return null;
  const a = args as Record<string, unknown>;
  if (typeof a['task_id'] !== 'string' || a['task_id'].length === 0) return null;
  return {
    method: 'revoke',
    arguments: {
      task_id: a['task_id'],
      terminate: a['terminate'] === true,
      reason: typeof a['reason'] === 'string' ? a['reason'] : null,
      expires_at_ms: typeof a['expires_at_ms'] === 'number' ? a['expires_at_ms'] : Infinity,
    },
  };
}
