import { strict as assert } from 'node:assert';

/**
 * Workflows (Celery's canvas): signatures and the ways to combine them. Everything
 * here is pure data; `TaskClient.apply` and `enqueueWorkflow` send it.
 */

/** How a signature wants its task sent. Every field is optional. */
export interface SignatureOptions {
  /** Task id; by default a fresh one is chosen when the workflow is sent. */
  id?: string;
  /** Queue to route to; by default the task name's first segment. */
  queue?: string;
  /** Positional arguments; a parent's result is put in front of them (unless immutable). */
  args?: unknown[];
  /** Run no earlier than this many milliseconds after the task is sent. */
  countdownMs?: number;
  /** Do not run after this time (or this many milliseconds after it is sent). */
  expires?: Date | number;
  timeLimitSoftS?: number;
  timeLimitHardS?: number;
  /** The caller's reply queue: the task's result is sent there too (Celery's `rpc://`). */
  replyTo?: string;
  /** Sent after the task succeeded, with its result put in front of their positional args. */
  link?: Signature | readonly Signature[];
  /** Sent after the task failed for good (dead-lettered), with its id as first argument. */
  linkError?: Signature | readonly Signature[];
}

/** One task to run later: its name, payload (kwargs and positional args) and options. */
export class Signature {
  readonly kind = 'signature';
  constructor(
    readonly task: string,
    readonly kwargs: Readonly<Record<string, unknown>>,
    readonly options: Readonly<SignatureOptions>,
    /** An immutable signature ignores its parent's result. */
    readonly immutable: boolean,
  ) {
    assert(task.length > 0, 'a signature names a task');
  }
}

/** Tasks run one after the other, each given the result of the one before. */
export class Chain {
  readonly kind = 'chain';
  constructor(readonly tasks: readonly Signature[]) {}
}

/** Tasks run in parallel; the result is the list of their results, in order. */
export class Group {
  readonly kind = 'group';
  constructor(
    readonly tasks: readonly Signature[],
    /** The group id; by default a fresh one is chosen when it is sent. */
    readonly id?: string,
  ) {}
}

/** A group whose results, in order, go to one callback once every member succeeded. */
export class Chord {
  readonly kind = 'chord';
  constructor(
    readonly header: Group,
    readonly body: Signature,
  ) {}
}

/** Anything `TaskClient.apply` and `enqueueWorkflow` send. */
export type Workflow = Signature | Chain | Group | Chord;

/** A task signature (Celery's `signature` / `.s()`): its parent's result is prepended to its args. */
export function signature(
  task: string,
  kwargs: Record<string, unknown> = {},
  options: SignatureOptions = {},
): Signature {
  return new Signature(task, kwargs, options, false);
}

/** An immutable signature (Celery's `.si()`): it ignores its parent's result. */
export function si(
  task: string,
  kwargs: Record<string, unknown> = {},
  options: SignatureOptions = {},
): Signature {
  return new Signature(task, kwargs, options, true);
}

/** The most steps a chain may have: every message carries the rest of its chain. */
export const CHAIN_LENGTH_MAX = 10_000;

/** `chain(a, b, c)`: `a`'s result goes to `b`, `b`'s to `c`; a failure stops the chain. */
export function chain(...tasks: Signature[]): Chain {
  assert(tasks.length > 0, 'a chain has at least one task');
  assert(tasks.length <= CHAIN_LENGTH_MAX, `a chain has at most ${CHAIN_LENGTH_MAX} tasks`);
  return new Chain(tasks);
}

/** The most members a group or chord header may have. */
export const GROUP_SIZE_MAX = 1_000_000;

/** `group([a, b, c])`: the tasks run in parallel. */
export function group(tasks: readonly Signature[], options: { id?: string } = {}): Group {
  assert(tasks.length > 0, 'a group has at least one task');
  assert(tasks.length <= GROUP_SIZE_MAX, `a group has at most ${GROUP_SIZE_MAX} tasks`);
  return new Group(tasks, options.id);
}

/** `chord(header, body)`: `body` runs once, with the header's results in order, after all succeeded. */
export function chord(header: Group | readonly Signature[], body: Signature): Chord {
  return new Chord(header instanceof Group ? header : group(header), body);
}
