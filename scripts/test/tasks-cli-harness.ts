/**
 * What the `npm run tasks` tests share: the real command run as a child process
 * (`node -r @swc-node/register scripts/tasks-cli.ts`, as the npm script does) against a
 * test file's own vhost and database, and a worker running in the test's process:
 * `gateway.cli_echo` returns its payload, `gateway.cli_fail` always fails, and one
 * periodic task (`cli-echo`, hourly) is scheduled.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { connect } from 'amqplib';
import {
  isolatedInfrastructure,
  startTaskApp,
  type IsolatedInfrastructure,
  type TaskApp,
} from '@clearline/testing';
import { Task } from '@clearline/tasks';

const ROOT = resolve(__dirname, '../..');
const CLI_TIMEOUT_MS = 30_000;

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The last non-empty line of stdout. */
  last: string;
}

class CliTaskFailure extends Error {
  override readonly name = 'CliTaskFailure';
}

@Controller()
class CliTestTasks {
  @Task('gateway.cli_echo')
  echo(@Payload() payload: unknown): { echo: unknown } {
    return { echo: payload };
  }

  @Task('gateway.cli_fail')
  fail(): never {
    throw new CliTaskFailure('refused on purpose');
  }
}

export interface CliHarness {
  infra: IsolatedInfrastructure;
  worker: TaskApp;
  /** Runs `npm run tasks -- <args>` and resolves with how it ended; never rejects. */
  cli(...args: string[]): Promise<CliRun>;
  /** Messages waiting in a broker queue. */
  waiting(queue: string): Promise<number>;
  close(): Promise<void>;
}

export async function startCliHarness(): Promise<CliHarness> {
  const infra = await isolatedInfrastructure();
  const worker = await startTaskApp({
    infra,
    controllers: [CliTestTasks],
    tasks: {
      schedules: [{ name: 'cli-echo', task: 'gateway.cli_echo', everyMs: 3_600_000 }],
      beat: { leaderPollMs: 100 },
      retention: false,
    },
  });
  const broker = await connect(infra.amqpUrl);
  const cli = (...args: string[]): Promise<CliRun> =>
    new Promise((resolveRun) => {
      execFile(
        process.execPath,
        ['-r', '@swc-node/register', 'scripts/tasks-cli.ts', ...args],
        { cwd: ROOT, env: { ...process.env, ...infra.env }, timeout: CLI_TIMEOUT_MS },
        (error, stdout, stderr) => {
          const lines = stdout.split('\n').filter((line) => line.trim() !== '');
          resolveRun({
            code: error ? (typeof error.code === 'number' ? error.code : null) : 0,
            stdout,
            stderr,
            last: lines.at(-1) ?? '',
          });
        },
      );
    });
  const waiting = async (queue: string): Promise<number> => {
    const channel = await broker.createChannel();
    try {
      return (await channel.checkQueue(queue)).messageCount;
    } finally {
      await channel.close();
    }
  };
  return {
    infra,
    worker,
    cli,
    waiting,
    close: async () => {
      await broker.close();
      await worker.close();
      await infra.destroy();
    },
  };
}
