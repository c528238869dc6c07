/**
 * `npm run tasks` on tasks, queues and dead letters, run for real as a child process
 * against this file's own vhost and database with a worker running (see
 * test/tasks-cli-harness.ts). It proves what an operator relies on: `call --wait` prints the
 * result as the last line and exits 0, or exits 1 when the task fails; `result` reads
 * the stored outcome; a failed task is listed by `dead-letters list` and sent back by
 * `dead-letters replay`; `purge` empties a queue and refuses one the deployment does not
 * have; bad usage exits 2 with the usage text; every `--json` output parses.
 */
import { eventually } from '@clearline/testing';
import { startCliHarness, type CliHarness } from './test/tasks-cli-harness';

describe('npm run tasks: call, result, dead letters, purge', () => {
  let harness: CliHarness;
  const cli = (...args: string[]): ReturnType<CliHarness['cli']> => harness.cli(...args);
  const waiting = (queue: string): Promise<number> => harness.waiting(queue);

  beforeAll(async () => {
    harness = await startCliHarness();
  });

  afterAll(async () => {
    await harness.close();
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

  it('purge empties a queue and refuses an unknown one; bad usage exits 2', async () => {
    // Nothing consumes `refund` here: the tasks wait there until purged.
    await Promise.all([
      harness.worker.client.send('refund.cli_waits', {}),
      harness.worker.client.send('refund.cli_waits', {}),
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
