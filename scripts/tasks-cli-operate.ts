/**
 * The operator's commands on workflows and the deployment as a whole: `tree` (a
 * workflow with its states), `schedules` (periodic tasks, their next run and last slot),
 * `revoke`, and `inspect` (the workers answer over the broker).
 */
import {
  INSPECT_KINDS,
  INSPECT_TIMEOUT_MS_MAX,
  listSchedules,
  ResultStore,
  TaskControl,
  type InspectKind,
  type InspectReply,
  type ScheduleInfo,
  type WorkflowNode,
} from '@clearline/tasks';
import { positionals, seconds, type Command } from './tasks-cli-commands';
import { EXIT, UsageError, type Output } from './tasks-cli-output';

/** How long `inspect` collects the workers' answers unless `--timeout` says. */
export const INSPECT_TIMEOUT_S_DEFAULT = 2;

const iso = (date: Date | null): string => (date ? date.toISOString() : '-');

function cadence(schedule: ScheduleInfo): string {
  if (schedule.cron !== null) return `cron "${schedule.cron}" ${schedule.timezone ?? 'UTC'}`;
  return `every ${(schedule.everyMs ?? 0) / 1_000} s`;
}

const schedules: Command = {
  usage: 'schedules\n      periodic tasks: what each sends, when it runs next and its last slot',
  options: ['json'],
  async run(invocation) {
    const { out, ctx } = invocation;
    positionals(invocation);
    const listed = await listSchedules(await ctx.dataSource());
    if (listed.length === 0) out.line('no schedules (none has led yet)');
    for (const schedule of listed) {
      out.line(`${schedule.scheduler}  ${schedule.name}  ->  ${schedule.task}`);
      out.fields([
        ['    runs', cadence(schedule)],
        ['    next run', iso(schedule.nextRunAt)],
        [
          '    last slot',
          schedule.lastSlot
            ? `${iso(schedule.lastSlot)} (sent ${iso(schedule.lastSentAt)})`
            : 'none yet',
        ],
        ['    leader', schedule.leader],
      ]);
    }
    out.document(listed);
    return EXIT.ok;
  },
};

const revoke: Command = {
  usage:
    'revoke <id> [--terminate]' +
    '\n      the task never runs (REVOKED); --terminate also aborts it if it is running now',
  options: ['json', 'terminate'],
  async run(invocation) {
    const { values, out, ctx } = invocation;
    const [id = ''] = positionals(invocation, 'id');
    const terminate = values.terminate === true;
    await (await ctx.get(TaskControl)).revoke(id, { terminate, reason: 'revoked by an operator' });
    out.line(`revoked ${id}${terminate ? ' (terminate)' : ''}`);
    out.document({ id, revoked: true, terminate });
    return EXIT.ok;
  },
};

function printReply(out: Output, reply: InspectReply): void {
  const { worker } = reply;
  switch (reply.kind) {
    case 'active':
    case 'reserved': {
      const tasks = (reply as InspectReply<'active' | 'reserved'>).reply;
      out.line(`-> ${worker}: ${tasks.length} ${reply.kind}`);
      for (const task of tasks) {
        const at =
          'startedAt' in task ? `started ${task.startedAt}` : `received ${task.receivedAt}`;
        out.line(`     ${task.id}  ${task.name}  ${task.queue}  ${at}`);
      }
      return;
    }
    case 'stats': {
      const stats = (reply as InspectReply<'stats'>).reply;
      out.line(`-> ${worker}: pid ${stats.pid}, up ${stats.uptimeS} s`);
      out.fields([
        ['     concurrency', stats.concurrency],
        ['     prefetch', stats.prefetch],
        ['     queues', stats.queues.join(', ')],
        [
          '     lanes',
          Object.entries(stats.lanes)
            .map(([lane, { prefetch, concurrency }]) => `${lane} ${prefetch}/${concurrency}`)
            .join(', ') || 'none',
        ],
        ['     revoked', stats.revoked],
        [
          '     processed',
          Object.entries(stats.processed)
            .map(([task, count]) => `${task}=${count}`)
            .join(', ') || '0',
        ],
      ]);
      return;
    }
    case 'registered': {
      const names = (reply as InspectReply<'registered'>).reply;
      out.line(`-> ${worker}: ${names.length} registered`);
      for (const name of names) out.line(`     ${name}`);
      return;
    }
  }
}

const inspect: Command = {
  usage:
    `inspect ${INSPECT_KINDS.join('|')} [--timeout S]` +
    `\n      ask every worker (answers collected for ${INSPECT_TIMEOUT_S_DEFAULT} s unless told)`,
  options: ['json', 'timeout'],
  async run(invocation) {
    const { values, out, ctx } = invocation;
    const [kind = ''] = positionals(invocation, 'kind');
    if (!(INSPECT_KINDS as readonly string[]).includes(kind)) {
      throw new UsageError(`inspect ${INSPECT_KINDS.join('|')}, not ${kind}`);
    }
    const timeoutS = seconds(values.timeout, '--timeout') ?? INSPECT_TIMEOUT_S_DEFAULT;
    const timeoutMs = Math.min(Math.round(timeoutS * 1_000), INSPECT_TIMEOUT_MS_MAX);
    const replies = await (await ctx.get(TaskControl)).inspect(kind as InspectKind, { timeoutMs });
    for (const reply of replies) printReply(out, reply);
    out.document(Object.fromEntries(replies.map((reply) => [reply.worker, reply.reply])));
    if (replies.length > 0) return EXIT.ok;
    process.stderr.write(`no worker replied within ${timeoutS} s\n`);
    return EXIT.failed;
  },
};

/** Prints `nodes` as a tree (`├─`, `└─`), each with its state, id and group position. */
function printNodes(out: Output, nodes: readonly WorkflowNode[], prefix: string): void {
  nodes.forEach((node, i) => {
    const last = i === nodes.length - 1;
    const member = node.group !== null ? `  [group ${node.group} #${node.groupIndex ?? '?'}]` : '';
    out.line(`${prefix}${last ? '└─ ' : '├─ '}${node.task}  ${node.state}  ${node.id}${member}`);
    printNodes(out, node.children, `${prefix}${last ? '   ' : '│  '}`);
  });
}

function someFailed(nodes: readonly WorkflowNode[]): boolean {
  return nodes.some(
    (node) => node.state === 'FAILURE' || node.state === 'REVOKED' || someFailed(node.children),
  );
}

const tree: Command = {
  usage:
    'tree <id>\n      a workflow (chain, group, chord) as a tree with states; exit 1 if a task of it failed',
  options: ['json'],
  async run(invocation) {
    const { out, ctx } = invocation;
    const [id = ''] = positionals(invocation, 'id');
    const found = await (await ctx.get(ResultStore)).tree(id);
    if (found.nodes.length === 0) {
      process.stderr.write(`no workflow ${id}: no task of it was recorded\n`);
      out.document({ ...found, found: false });
      return EXIT.failed;
    }
    out.line(`workflow ${found.rootId}: ${found.count} ${found.count === 1 ? 'task' : 'tasks'}`);
    printNodes(out, found.nodes, '');
    if (found.truncated) out.line(`… more tasks not shown (the first ${found.count} are)`);
    out.document(found);
    return someFailed(found.nodes) ? EXIT.failed : EXIT.ok;
  },
};

/** The commands on the whole deployment, by name. */
export const OPERATE_COMMANDS: Record<string, Command> = { tree, schedules, revoke, inspect };
