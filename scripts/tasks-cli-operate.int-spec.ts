/**
 * `npm run tasks` on workflows, schedules and workers, run for real as a child process
 * against this file's own vhost and database with a worker running (see
 * test/tasks-cli-harness.ts): `tree` draws a chain with its states (exit 1 for an unknown
 * workflow); `schedules` lists the worker's periodic task with its next run and last
 * slot; `revoke` stops a task sent afterwards (REVOKED, never run) and `result` then
 * exits 1; `inspect registered|stats` get the running worker's answer over the broker;
 * every `--json` output parses.
 */
import { randomUUID } from 'node:crypto';
import { eventually } from '@clearline/testing';
import { chain, listSchedules, signature } from '@clearline/tasks';
import { startCliHarness, type CliHarness } from './test/tasks-cli-harness';

describe('npm run tasks: tree, schedules, revoke, inspect', () => {
  let harness: CliHarness;
  const cli = (...args: string[]): ReturnType<CliHarness['cli']> => harness.cli(...args);

  beforeAll(async () => {
    harness = await startCliHarness();
  });

  afterAll(async () => {
    await harness.close();
  });

  it('tree shows a workflow with its states', async () => {
    const handle = await harness.worker.client.apply(
      chain(
        signature('gateway.cli_echo', { step: 1 }),
        signature('gateway.cli_echo'),
        signature('gateway.cli_echo'),
      ),
    );
    await handle.result({ timeoutMs: 30_000 });
    const rootId = (await harness.worker.store.get(handle.id))?.rootId ?? '';

    const [text, json, missing] = await Promise.all([
      cli('tree', rootId),
      cli('tree', rootId, '--json'),
      cli('tree', 'no-such-workflow'),
    ]);
    expect(text).toMatchObject({ code: 0 });
    expect(text.stdout).toContain(`workflow ${rootId}: 3 tasks`);
    expect(text.stdout).toMatch(/^└─ gateway\.cli_echo {2}SUCCESS {2}\S+$/m);
    expect(text.stdout).toMatch(/^ {6}└─ gateway\.cli_echo {2}SUCCESS {2}\S+$/m);
    expect(json).toMatchObject({ code: 0 });
    expect(JSON.parse(json.stdout)).toMatchObject({
      rootId,
      count: 3,
      nodes: [{ id: rootId, state: 'SUCCESS', children: [{ children: [{ id: handle.id }] }] }],
    });
    expect(missing).toMatchObject({ code: 1 });
  });

  it('schedules lists the periodic tasks with their next run and last slot', async () => {
    await eventually(async () => (await listSchedules(harness.worker.dataSource)).length === 1, {
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
    const [revoked, registered, stats, statsText] = await Promise.all([
      cli('revoke', id, '--json'),
      cli('inspect', 'registered'),
      cli('inspect', 'stats', '--json'),
      cli('inspect', 'stats'),
    ]);
    expect(revoked).toMatchObject({ code: 0 });
    expect(JSON.parse(revoked.stdout)).toEqual({ id, revoked: true, terminate: false });
    expect(registered).toMatchObject({ code: 0 });
    expect(registered.stdout).toMatch(/^-> \S+: \d+ registered$/m);
    expect(registered.stdout).toMatch(/^ +gateway\.cli_echo$/m);
    expect(stats).toMatchObject({ code: 0 });
    const [workerStats] = Object.values(JSON.parse(stats.stdout) as Record<string, unknown>);
    expect(workerStats).toMatchObject({ pid: process.pid, queues: ['gateway'] });
    // The readable answer names the lane the worker consumes, with its prefetch/concurrency.
    expect(statsText.stdout).toMatch(/^ +lanes +realtime \d+\/\d+$/m);

    // Sent after the revocation: the worker records REVOKED and never runs it.
    await harness.worker.client.send('gateway.cli_echo', { n: 1 }, { id });
    await eventually(async () => (await harness.worker.store.get(id))?.state === 'REVOKED', {
      what: 'the revoked task to end REVOKED',
    });
    const result = await cli('result', id, '--json');
    expect(result).toMatchObject({ code: 1 });
    expect(JSON.parse(result.stdout)).toMatchObject({ id, state: 'REVOKED' });
  });
});
