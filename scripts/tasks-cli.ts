/**
 * `npm run tasks -- <command>`: the operator's tool for the task layer, in the spirit of
 * `celery inspect` and `celery control`. Every command prints readable text, or one
 * JSON document with `--json`. Exit codes: 0 ok, 1 a task failed or something was not
 * found, 2 bad usage (with the usage text on stderr).
 *
 * Connection: AMQP_URL and DATABASE_URL, with the defaults `npm start` uses.
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { TASK_COMMANDS, type Command, type CliValues } from './tasks-cli-commands';
import { CliContext } from './tasks-cli-context';
import { OPERATE_COMMANDS } from './tasks-cli-operate';
import { EXIT, Output, UsageError, type ExitCode } from './tasks-cli-output';

const COMMANDS: Record<string, Command> = { ...TASK_COMMANDS, ...OPERATE_COMMANDS };

export function usageText(): string {
  const commands = Object.values(COMMANDS)
    .map((command) => `  ${command.usage}`)
    .join('\n');
  return [
    'usage: npm run tasks -- <command> [options] [--json]',
    '',
    'commands:',
    commands,
    '',
    'options:',
    '  --json   one JSON document instead of readable text',
    '',
    'exit codes: 0 ok, 1 a task failed or something was not found, 2 bad usage',
    'connection: AMQP_URL and DATABASE_URL (defaults: the local Clearline of npm start)',
  ].join('\n');
}

function usageError(message: string): ExitCode {
  process.stderr.write(`error: ${message}\n\n${usageText()}\n`);
  return EXIT.usage;
}

const OPTIONS = {
  json: { type: 'boolean' },
  kwargs: { type: 'string' },
  args: { type: 'string' },
  queue: { type: 'string' },
  countdown: { type: 'string' },
  wait: { type: 'string' },
  terminate: { type: 'boolean' },
  all: { type: 'boolean' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs one command line; returns the exit code. */
export async function runCli(argv: readonly string[]): Promise<ExitCode> {
  let parsed: { values: CliValues & { help?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error));
  }
  const { help, ...values } = parsed.values;
  const [name, ...positionals] = parsed.positionals;
  if (help === true && name === undefined) {
    process.stdout.write(`${usageText()}\n`);
    return EXIT.ok;
  }
  if (name === undefined) return usageError('no command');
  const command = COMMANDS[name];
  if (!command) return usageError(`unknown command ${name}`);
  const refused = Object.keys(values).filter(
    (option) => !command.options.includes(option as keyof CliValues),
  );
  if (refused.length > 0) return usageError(`${name} does not take --${refused.join(', --')}`);
  let ctx: CliContext | null = null;
  try {
    ctx = new CliContext();
    return await command.run({ positionals, values, out: new Output(values.json === true), ctx });
  } catch (error) {
    if (error instanceof UsageError) return usageError(error.message);
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failed;
  } finally {
    await ctx?.close().catch(() => undefined);
  }
}

if (require.main === module) {
  void runCli(process.argv.slice(2)).then((code) => process.exit(code));
}
