/**
 * `npm run tasks`: the operator's tool, run for real as a child process
 * (`node -r @swc-node/register scripts/tasks-cli.ts`, as the npm script does) against
 * this file's own vhost and database, with a worker running in this process
 * (`gateway.cli_echo` returns its payload, `gateway.cli_fail` always fails).
 *
 * It proves what an operator relies on: `call --wait` prints the result as the last
 * line and exits 0, or exits 1 when the task fails; `result` reads the stored outcome;
 * a failed task is listed by `dead-letters list` and sent back by `dead-letters replay`;
 * `schedules` lists the worker's periodic task with its next run and last slot; `revoke`
 * stops a task sent afterwards (REVOKED, never run); `inspect registered|stats` get the
 * running worker's answer over the broker; `purge`
 * empties a queue and refuses one the deployment does not have; bad usage exits 2 with
 * the usage text; every `--json` output parses.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { connect, type ChannelModel } from 'amqplib';
import {
  eventually,
  isolatedInfrastructure,
  startTaskApp,
  type IsolatedInfrastructure,
  type TaskApp,
} from '@clearline/testing';
import { listSchedules, Task } from '@clearline/tasks';

const ROOT = resolve(__dirname, '..');
const CLI_TIMEOUT_MS = 30_000;

interface CliRun {
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

describe('npm run tasks (the operator CLI)', () => {
  let infra: IsolatedInfrastructure;
  let worker: TaskApp;
  let broker: ChannelModel;

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

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    worker = await startTaskApp({
      infra,
      controllers: [CliTestTasks],
      tasks: {
        schedules: [{ name: 'cli-echo', task: 'gateway.cli_echo', everyMs: 3_600_000 }],
        beat: { leaderPollMs: 100 },
        retention: false,
      },
    });
    broker = await connect(infra.amqpUrl);
  });

  afterAll(async () => {
    await broker.close();
    await worker.close();
    await infra.destroy();
  });

  it('call --wait prints the result as the last line and exits 0; result reads it back', async () => {
    const called = await cli('call', 'gateway.cli_echo', '--kwargs', '{"n":7}', '--wait', '20');
    expect(called).toMatchObject({ code: 0 });
    expect(JSON.parse(called.last)).toEqual({ echo: { n: 7 } });
    const id = /^sent gateway\.cli_echo (\S+)$/m.exec(called.stdout)?.[1] ?? '';

    const [text, json] = await Promise.all([cli('result', id), cli('result', id, '--json')]);
    expect(text).toMatchObject({ code: 0 });
    expect(text.stdout).toMatch(/^state +SUCCESS$/m);
    expect(text.stdout).toContain('{"echo":{"n":7}}');
    expect(json).toMatchObject({ code: 0 });
    expect(JSON.parse(json.stdout)).toMatchObject({
      id,
      task: 'gateway.cli_echo',
      state: 'SUCCESS',
      result: { echo: { n: 7 } },
    });
  });

  it('call --wait of a failing task exits 1; the dead letter is listed and replayed', async () => {
    const called = await cli('call', 'gateway.cli_fail', '--wait', '20', '--json');
    expect(called).toMatchObject({ code: 1 });
    const record = JSON.parse(called.last) as { id: string; state: string; error_type: string };
    expect(record).toMatchObject({ state: 'FAILURE', error_type: 'CliTaskFailure' });

    const listed = await cli('dead-letters', 'list', '--queue', 'gateway', '--json');
    expect(listed).toMatchObject({ code: 0 });
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ id: record.id, task: 'gateway.cli_fail', reason: 'failed' }),
    ]);

    const replayed = await cli('dead-letters', 'replay', record.id);
    expect(replayed).toMatchObject({ code: 0 });
    expect(replayed.stdout).toContain(`replayed ${record.id}`);
    // It ran again (and failed again): back in the dead-letter queue, still once.
    await eventually(async () => (await waiting('gateway.dead')) === 1, {
      what: 'the replayed task dead-lettered again',
    });
    const [missing, unknownResult] = await Promise.all([
      cli('dead-letters', 'replay', 'no-such-id'),
      cli('result', 'no-such-id', '--json'),
    ]);
    expect(missing).toMatchObject({ code: 1 });
    expect(unknownResult).toMatchObject({ code: 1 });
    expect(JSON.parse(unknownResult.stdout)).toMatchObject({ found: false });
  });

  it('schedules lists the periodic tasks with their next run and last slot', async () => {
    await eventually(async () => (await listSchedules(worker.dataSource)).length === 1, {
      what: 'the worker leading its schedule',
    });
    const [text, json] = await Promise.all([cli('schedules'), cli('schedules', '--json')]);
    expect(text).toMatchObject({ code: 0 });
    expect(text.stdout).toMatch(/cli-echo +-> +gateway\.cli_echo/);
    expect(text.stdout).toMatch(/next run +\d{4}-/);
    expect(text.stdout).toMatch(/last slot /);
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({
        name: 'cli-echo',
        task: 'gateway.cli_echo',
        everyMs: 3_600_000,
        nextRunAt: expect.any(String) as unknown,
      }),
    ]);
  });

  it('revoke stops a task before it runs; inspect asks the running worker', async () => {
    const id = randomUUID();
    const [revoked, registered, stats] = await Promise.all([
      cli('revoke', id, '--json'),
      cli('inspect', 'registered'),
      cli('inspect', 'stats', '--json'),
    ]);
    expect(revoked).toMatchObject({ code: 0 });
    expect(JSON.parse(revoked.stdout)).toEqual({ id, revoked: true, terminate: false });
    expect(registered).toMatchObject({ code: 0 });
    expect(registered.stdout).toMatch(/^-> \S+: \d+ registered$/m);
    expect(registered.stdout).toMatch(/^ +gateway\.cli_echo$/m);
    expect(stats).toMatchObject({ code: 0 });
    const [workerStats] = Object.values(JSON.parse(stats.stdout) as Record<string, unknown>);
    expect(workerStats).toMatchObject({ pid: process.pid, queues: ['gateway'] });

    // Sent after the revocation: the worker records REVOKED and never runs it.
    await worker.client.send('gateway.cli_echo', { n: 1 }, { id });
    await eventually(async () => (await worker.store.get(id))?.state === 'REVOKED', {
      what: 'the revoked task to end REVOKED',
    });
    const result = await cli('result', id, '--json');
    expect(result).toMatchObject({ code: 1 });
    expect(JSON.parse(result.stdout)).toMatchObject({ id, state: 'REVOKED' });
  });

  it('purge empties a queue and refuses an unknown one; bad usage exits 2', async () => {
    // Nothing consumes `refund` here: the tasks wait there until purged.
    await Promise.all([
      worker.client.send('refund.cli_waits', {}),
      worker.client.send('refund.cli_waits', {}),
    ]);
    expect(await waiting('refund')).toBe(2);

    const [purged, unknown, usage, badJson] = await Promise.all([
      cli('purge', 'refund', '--json'),
      cli('purge', 'no-such-queue'),
      cli('call'),
      cli('call', 'gateway.cli_echo', '--kwargs', '{not json'),
    ]);
    expect(purged).toMatchObject({ code: 0 });
    expect(JSON.parse(purged.stdout)).toMatchObject({ queue: 'refund', purged: 2 });
    expect(await waiting('refund')).toBe(0);
    expect(unknown).toMatchObject({ code: 1 });
    expect(unknown.stderr).toContain('no queue no-such-queue');
    expect(usage).toMatchObject({ code: 2 });
    expect(usage.stderr).toContain('usage: npm run tasks');
    expect(badJson).toMatchObject({ code: 2 });
  });
});
