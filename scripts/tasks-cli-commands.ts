/**
 * The operator's commands on single tasks, queues and dead letters: `call`, `result`,
 * `purge`, `dead-letters list|replay`. Each returns its exit code.
 */
import { DEAD_LETTER_PAGE_MAX, TaskTimeoutError, type DeadLetter } from '@clearline/tasks';
import { knownQueues, type CliContext, type QueueInfo } from './tasks-cli-context';
import {
  EXIT,
  exitFor,
  printRecord,
  recordJson,
  toJson,
  UsageError,
  type ExitCode,
  type Output,
} from './tasks-cli-output';

/** The options any command may take; each command says which it accepts. */
export interface CliValues {
  json?: boolean;
  kwargs?: string;
  args?: string;
  queue?: string;
  countdown?: string;
  wait?: string;
  terminate?: boolean;
  all?: boolean;
  timeout?: string;
}
export type OptionName = keyof CliValues;

export interface Invocation {
  positionals: string[];
  values: CliValues;
  out: Output;
  ctx: CliContext;
}

export interface Command {
  /** `call <task> [--kwargs JSON] …`, for the usage text. */
  usage: string;
  options: readonly OptionName[];
  run(invocation: Invocation): Promise<ExitCode>;
}

/** The longest `--wait` and `--countdown`: an hour. */
export const WAIT_S_MAX = 3_600;
/** The most dead letters one `dead-letters replay --all` sends back. */
export const REPLAY_ALL_MAX = 10_000;

/** Exactly `count` positional arguments, named for the error message. */
export function positionals(invocation: Invocation, ...names: string[]): string[] {
  const given = invocation.positionals;
  if (given.length < names.length) throw new UsageError(`missing <${names[given.length]}>`);
  if (given.length > names.length)
    throw new UsageError(`unexpected argument ${given[names.length]}`);
  return given;
}

function jsonOption(text: string | undefined, option: string): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError(`${option} is not valid JSON: ${text}`);
  }
}

/** A number of seconds from 0 to WAIT_S_MAX, or undefined when the option is absent. */
export function seconds(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value > WAIT_S_MAX) {
    throw new UsageError(`${option} is a number of seconds from 0 to ${WAIT_S_MAX}: ${text}`);
  }
  return value;
}

/** A queue the deployment declares; anything else is refused (exit 1, not found). */
function knownQueue(out: Output, name: string): QueueInfo | null {
  const queues = knownQueues();
  const queue = queues.find((q) => q.name === name);
  if (queue) return queue;
  process.stderr.write(
    `no queue ${name}; the queues are: ${queues.map((q) => q.name).join(', ')}\n`,
  );
  out.document({ error: 'unknown queue', queue: name });
  return null;
}

/**
 * A `--queue` this deployment does not have is a Python Celery worker's: the task goes
 * there as Celery routes `queue=` (the default exchange), and its result comes back by
 * Celery's `rpc://` reply, since a Python worker writes nothing to our PostgreSQL.
 */
function isCeleryQueue(queue: string | undefined): queue is string {
  return queue !== undefined && !knownQueues().some((known) => known.name === queue);
}

const call: Command = {
  usage:
    'call <task> [--kwargs JSON] [--args JSON] [--queue Q] [--countdown S] [--wait S]' +
    '\n      send a task; with --wait, print its result (JSON) as the last line' +
    "\n      (a --queue that is not one of this deployment's is a Python Celery worker's:" +
    '\n      sent as Celery routes it, the result read from its rpc:// reply)',
  options: ['json', 'kwargs', 'args', 'queue', 'countdown', 'wait'],
  async run(invocation) {
    const { values, out, ctx } = invocation;
    const [task = ''] = positionals(invocation, 'task');
    const kwargs = jsonOption(values.kwargs, '--kwargs');
    if (
      kwargs !== undefined &&
      (typeof kwargs !== 'object' || kwargs === null || Array.isArray(kwargs))
    ) {
      throw new UsageError('--kwargs is a JSON object');
    }
    const args = jsonOption(values.args, '--args');
    if (args !== undefined && !Array.isArray(args)) throw new UsageError('--args is a JSON array');
    const countdownS = seconds(values.countdown, '--countdown');
    const waitS = seconds(values.wait, '--wait');
    const client = await ctx.client();
    const celery = isCeleryQueue(values.queue);
    const handle = await client.send(task, kwargs ?? {}, {
      ...(args ? { args: args as unknown[] } : {}),
      ...(values.queue !== undefined ? { queue: values.queue } : {}),
      ...(countdownS !== undefined ? { countdownMs: Math.round(countdownS * 1_000) } : {}),
      ...(celery ? { worker: 'celery' as const } : {}),
    });
    out.line(`sent ${task} ${handle.id}`);
    if (celery) out.line(`to the Python Celery queue ${values.queue} (result by rpc:// reply)`);
    if (waitS === undefined) {
      out.document({ id: handle.id, task, state: 'PENDING' });
      return EXIT.ok;
    }
    try {
      const record = await handle.settled({ timeoutMs: Math.round(waitS * 1_000) });
      out.line(`${record.state}${record.worker ? ` (${record.worker})` : ''}`);
      out.line(
        record.state === 'SUCCESS'
          ? toJson(record.result ?? null)
          : toJson({
              state: record.state,
              error_type: record.errorType,
              error_message: record.errorMessage,
            }),
      );
      out.document(recordJson(record));
      return exitFor(record);
    } catch (error) {
      if (!(error instanceof TaskTimeoutError)) throw error;
      const state = (await handle.state())?.state ?? 'PENDING';
      out.line(`not finished after ${waitS} s (state ${state})`);
      out.line(toJson({ state, timed_out: true }));
      out.document({ id: handle.id, task, state, timed_out: true });
      return EXIT.failed;
    }
  },
};

const result: Command = {
  usage: 'result <id>\n      the stored state and result of a task',
  options: ['json'],
  async run(invocation) {
    const { out, ctx } = invocation;
    const [id = ''] = positionals(invocation, 'id');
    const record = await (await ctx.store()).get(id);
    if (!record) {
      process.stderr.write(`no result for ${id}: unknown, or not started yet (PENDING)\n`);
      out.document({ id, state: 'PENDING', found: false });
      return EXIT.failed;
    }
    printRecord(out, record);
    out.document(recordJson(record));
    return exitFor(record);
  },
};

const purge: Command = {
  usage:
    'purge <queue>\n      delete every message waiting in a queue (an ordered lane: all its shards)',
  options: ['json'],
  async run(invocation) {
    const { out, ctx } = invocation;
    const [name = ''] = positionals(invocation, 'queue');
    const queue = knownQueue(out, name);
    if (!queue) return EXIT.failed;
    const purged = await ctx.purge(queue.brokerQueues);
    const total = [...purged.values()].reduce((sum, count) => sum + count, 0);
    out.line(`purged ${total} ${total === 1 ? 'message' : 'messages'} from ${name}`);
    if (queue.brokerQueues.length > 1) {
      for (const [brokerQueue, count] of purged) out.line(`  ${brokerQueue}  ${count}`);
    }
    out.document({ queue: name, purged: total, queues: Object.fromEntries(purged) });
    return EXIT.ok;
  },
};

function printDeadLetters(out: Output, letters: readonly DeadLetter[]): void {
  if (letters.length === 0) out.line('no dead letters');
  for (const letter of letters) {
    out.line(
      `${letter.id}  ${letter.queue}  ${letter.task ?? '-'}  ${letter.reason}  ` +
        `${letter.failedAt ?? '-'}  ${letter.errorType ?? ''}${letter.error ? `: ${letter.error}` : ''}`,
    );
  }
}

async function replayAll(invocation: Invocation, queue: string | undefined): Promise<ExitCode> {
  const { out, ctx } = invocation;
  const admin = await ctx.deadLetters();
  const replayed: DeadLetter[] = [];
  const tried = new Set<string>();
  while (replayed.length < REPLAY_ALL_MAX) {
    const page = await admin.list({ ...(queue ? { queue } : {}), limit: DEAD_LETTER_PAGE_MAX });
    const fresh = page.filter((letter) => !tried.has(letter.id));
    // Letters that cannot be replayed (no message id) stay; stop once only they are left.
    if (fresh.length === 0) break;
    for (const letter of fresh) {
      tried.add(letter.id);
      const sent = await admin.replay(letter.id);
      if (sent) {
        replayed.push(sent);
        out.line(`replayed ${sent.id} (${sent.task ?? 'unknown task'}) to ${sent.queue}`);
      }
    }
  }
  out.line(`${replayed.length} replayed`);
  out.document({ replayed: replayed.map((letter) => ({ id: letter.id, queue: letter.queue })) });
  return EXIT.ok;
}

const deadLetters: Command = {
  usage:
    'dead-letters list [--queue Q] | dead-letters replay <id|--all> [--queue Q]' +
    `\n      list dead letters (at most ${DEAD_LETTER_PAGE_MAX}), or send them back as fresh attempts`,
  options: ['json', 'queue', 'all'],
  async run(invocation) {
    const { values, out, ctx } = invocation;
    const [action, ...rest] = invocation.positionals;
    if (values.queue !== undefined && !knownQueue(out, values.queue)) return EXIT.failed;
    if (action === 'list') {
      if (rest.length > 0 || values.all)
        throw new UsageError('dead-letters list takes --queue only');
      const letters = await (
        await ctx.deadLetters()
      ).list(values.queue !== undefined ? { queue: values.queue } : {});
      printDeadLetters(out, letters);
      out.document(letters);
      return EXIT.ok;
    }
    if (action !== 'replay') throw new UsageError('dead-letters list|replay');
    if (values.all) {
      if (rest.length > 0)
        throw new UsageError('dead-letters replay takes an id or --all, not both');
      return replayAll(invocation, values.queue);
    }
    const [id, ...extra] = rest;
    if (id === undefined || extra.length > 0)
      throw new UsageError('dead-letters replay <id|--all>');
    const admin = await ctx.deadLetters();
    if (values.queue !== undefined) {
      const letters = await admin.list({ queue: values.queue });
      if (!letters.some((letter) => letter.id === id)) return notFound(out, id, values.queue);
    }
    const sent = await admin.replay(id);
    if (!sent) return notFound(out, id, values.queue);
    out.line(`replayed ${sent.id} (${sent.task ?? 'unknown task'}) to ${sent.queue}`);
    out.document({ replayed: [{ id: sent.id, queue: sent.queue }] });
    return EXIT.ok;
  },
};

function notFound(out: Output, id: string, queue: string | undefined): ExitCode {
  process.stderr.write(`no dead letter ${id}${queue ? ` in ${queue}` : ''}\n`);
  out.document({ replayed: [], error: 'not found', id });
  return EXIT.failed;
}

/** The commands on tasks, queues and dead letters, by name. */
export const TASK_COMMANDS: Record<string, Command> = {
  call,
  result,
  purge,
  'dead-letters': deadLetters,
};
