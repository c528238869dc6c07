/**
 * The operator's commands on the deployment as a whole: `schedules` (periodic tasks,
 * their next run and last slot).
 */
import { listSchedules, type ScheduleInfo } from '@clearline/tasks';
import { positionals, type Command } from './tasks-cli-commands';
import { EXIT } from './tasks-cli-output';

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

/** The commands on the whole deployment, by name. */
export const OPERATE_COMMANDS: Record<string, Command> = { schedules };
