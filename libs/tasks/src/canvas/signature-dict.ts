import type { SendOptions } from '../client/send-options';
import type { Signature } from './signature';

/**
 * Celery's serialised signature (`celery.canvas.Signature`, a dict), as it travels in
 * a protocol-2 message's embed (`chain`, `chord`, `callbacks`, `errbacks`). Empty
 * options are left out: a long chain carries the rest of itself in every message.
 */
export interface SignatureDict {
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  options: SignatureDictOptions;
  subtask_type: null;
  immutable: boolean;
  chord_size: number | null;
}

/** The options Celery and this layer both understand (Celery's names and units). */
export interface SignatureDictOptions {
  task_id?: string;
  queue?: string;
  /** Seconds after sending. */
  countdown?: number;
  /** An ISO time, or seconds after sending. */
  expires?: string | number;
  soft_time_limit?: number;
  time_limit?: number;
  link?: SignatureDict[];
  link_error?: SignatureDict[];
  /** A chord callback's parent: the task that sent the chord. */
  parent_id?: string;
  /** The caller's reply queue (Celery's `freeze` sets it): the task's result goes there too. */
  reply_to?: string;
}

/** The id a signature is sent with: its own, or the one `freeze` gives it. */
export type IdOf = (sig: Signature) => string;

function asList(value: Signature | readonly Signature[] | undefined): readonly Signature[] {
  if (value === undefined) return [];
  return value instanceof Array ? value : [value];
}

/** Celery's dict of a signature whose task id is fixed. */
export function toDict(sig: Signature, id: string, idOf: IdOf): SignatureDict {
  const o = sig.options;
  const options: SignatureDictOptions = { task_id: id };
  if (o.queue !== undefined) options.queue = o.queue;
  if (o.countdownMs !== undefined) options.countdown = o.countdownMs / 1_000;
  if (o.expires !== undefined)
    options.expires = typeof o.expires === 'number' ? o.expires / 1_000 : o.expires.toISOString();
  if (o.timeLimitSoftS !== undefined) options.soft_time_limit = o.timeLimitSoftS;
  if (o.timeLimitHardS !== undefined) options.time_limit = o.timeLimitHardS;
  if (o.replyTo !== undefined) options.reply_to = o.replyTo;
  const link = asList(o.link);
  if (link.length > 0) options.link = link.map((s) => toDict(s, idOf(s), idOf));
  const linkError = asList(o.linkError);
  if (linkError.length > 0) options.link_error = linkError.map((s) => toDict(s, idOf(s), idOf));
  return {
    task: sig.task,
    args: [...(o.args ?? [])],
    kwargs: { ...sig.kwargs },
    options,
    subtask_type: null,
    immutable: sig.immutable,
    chord_size: null,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Why an embedded signature cannot be used; the message carrying it is malformed. */
export function signatureDictProblem(value: unknown, depth = 0): string | null {
  if (!isRecord(value)) return 'is not an object';
  if (typeof value['task'] !== 'string' || value['task'].length === 0) return 'names no task';
  if (value['args'] !== undefined && !Array.isArray(value['args'])) return 'args is not a list';
  if (value['kwargs'] !== undefined && !isRecord(value['kwargs'])) return 'kwargs is not an object';
  const options = value['options'];
  if (options === undefined || options === null) return null;
  if (!isRecord(options)) return 'options is not an object';
  if (options['task_id'] !== undefined && typeof options['task_id'] !== 'string')
    return 'options.task_id is not a string';
  if (options['queue'] !== undefined && typeof options['queue'] !== 'string')
    return 'options.queue is not a string';
  if (options['countdown'] !== undefined && typeof options['countdown'] !== 'number')
    return 'options.countdown is not a number';
  // Callbacks of callbacks are fine; a nesting this deep is not a workflow anyone wrote.
  if (depth > 8) return 'is nested too deep';
  for (const key of ['link', 'link_error']) {
    const list = options[key];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) return `options.${key} is not a list`;
    for (const item of list) {
      const problem = signatureDictProblem(item, depth + 1);
      if (problem) return `options.${key}: ${problem}`;
    }
  }
  return null;
}

/** Reads a dict that {@link signatureDictProblem} accepted. */
export function fromDict(value: unknown): SignatureDict {
  const d = value as Partial<SignatureDict>;
  return {
    task: d.task ?? '',
    args: d.args ?? [],
    kwargs: d.kwargs ?? {},
    options: d.options ?? {},
    subtask_type: null,
    immutable: d.immutable === true,
    chord_size: d.chord_size ?? null,
  };
}

/** A signature list from an embed (`callbacks`, `errbacks`, `chain`), or none. */
export function dictList(value: unknown): SignatureDict[] {
  return Array.isArray(value) ? value.map(fromDict) : [];
}

/** How to send a serialised signature: its send options (Celery's names turned into ours). */
export function sendOptionsOf(d: SignatureDict): SendOptions {
  const o = d.options;
  const options: SendOptions = {};
  if (o.task_id !== undefined) options.id = o.task_id;
  if (o.queue !== undefined) options.queue = o.queue;
  if (o.countdown !== undefined && o.countdown > 0) options.countdownMs = o.countdown * 1_000;
  if (typeof o.expires === 'number') options.expires = o.expires * 1_000;
  else if (typeof o.expires === 'string') options.expires = new Date(o.expires);
  if (o.soft_time_limit !== undefined) options.timeLimitSoftS = o.soft_time_limit;
  if (o.time_limit !== undefined) options.timeLimitHardS = o.time_limit;
  if (typeof o.reply_to === 'string' && o.reply_to.length > 0) options.replyTo = o.reply_to;
  return options;
}

/** The most signatures one embed list may hold (a chain's rest, callbacks, errbacks). */
const EMBED_LIST_MAX = 10_000;

/** Why a message's embed (`chain`, `chord`, `callbacks`, `errbacks`) is unusable, or null. */
export function embedProblem(embed: Record<string, unknown>): string | null {
  for (const key of ['chain', 'callbacks', 'errbacks']) {
    const list = embed[key];
    if (list === null || list === undefined) continue;
    if (!Array.isArray(list)) return `${key} is not a list`;
    if (list.length > EMBED_LIST_MAX) return `${key} has more than ${EMBED_LIST_MAX} signatures`;
    for (const item of list) {
      const problem = signatureDictProblem(item);
      if (problem) return `${key}: a signature ${problem}`;
    }
  }
  const chord = embed['chord'];
  if (chord === null || chord === undefined) return null;
  const problem = signatureDictProblem(chord);
  return problem ? `chord: the callback ${problem}` : null;
}
