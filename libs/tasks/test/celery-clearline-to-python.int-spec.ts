/**
 * Clearline → Python, with the real thing: our `TaskClient` and `npm run tasks -- call`
 * send tasks to a real Python Celery 5 worker (Debian's python3-celery) and get its
 * results and failures back through Celery's `rpc://` replies.
 *
 * - Positional args, kwargs and both reach the Python task; its result comes back to
 *   `handle.result()` (a queue given with `-Q`, and Celery's default queue `celery`).
 * - The worker reads our message as Celery's own: ids, reply_to and correlation_id, the
 *   default exchange with the queue's name (as Celery routes `queue=`), an eta it holds
 *   the task for, Python reprs of the arguments with a card number redacted.
 * - A Python exception comes back as a `TaskFailedError` with its type name and message.
 * - A queue no worker declared is refused at once (unroutable), never declared by us;
 *   Celery's queue stays as Celery declared it (classic, durable, no arguments).
 * - The reply queue is exclusive, auto-delete and bounded, and comes back with the
 *   connection (cut through a TCP proxy): a call after the reconnect gets its reply.
 * - `npm run tasks -- call <task> --queue <q> --args … --kwargs … --wait S` prints the
 *   result as its last line, or exits 1 with the error (type and message) as JSON.
 * - The worker's log, from the moment it was ready, holds no warning or error: it
 *   accepted every one of our messages as its own.
 *
 * How: the worker (fixtures/celery-to-python/python_worker.py, `--pool solo`, queues
 * `py.jobs` and `celery`, declared by Celery itself) runs on this file's vhost with
 * `result_backend='rpc://'`; our client is an in-process Clearline app on the same vhost;
 * the CLI runs as a child process as an operator runs it.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import {
  TaskFailedError,
  UnroutableError,
  type TaskHandle,
  type TaskResultRecord,
} from '@clearline/tasks';
import {
  celeryLogRecords,
  ensurePythonCelery,
  eventually,
  isolatedInfrastructure,
  managementGet,
  PYTHON_CELERY_INSTALL_TIMEOUT_MS,
  startCeleryWorker,
  startTaskApp,
  tcpProxy,
  throughProxy,
  type CeleryWorker,
  type IsolatedInfrastructure,
  type TaskApp,
} from '@clearline/testing';

const ROOT = resolve(__dirname, '../../..');
const FIXTURES = resolve(__dirname, 'fixtures/celery-to-python');
/** The queue the Python worker is started with (`-Q`); it consumes Celery's `celery` too. */
const QUEUE = 'py.jobs';
const READY_LINE = 'clearline-to-python worker ready';
/** The tasks that raise: the worker logs their failures as errors, which the test excuses. */
const FAILING_TASKS = new Set(['py.refuse', 'py.divide']);
const RESULT_TIMEOUT_MS = 15_000;
const CLI_TIMEOUT_MS = 60_000;

interface ManagedQueue {
  name: string;
  durable: boolean;
  exclusive: boolean;
  auto_delete: boolean;
  type?: string;
  arguments: Record<string, unknown>;
}

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  last: string;
}

describe('Clearline → Python Celery worker', () => {
  let infra: IsolatedInfrastructure | null = null;
  let app: TaskApp | null = null;
  let worker: CeleryWorker | null = null;
  /** Every task sent to the worker, to find each one in its log at the end. */
  const sent: { task: string; id: string }[] = [];

  const send = async <T>(
    task: string,
    kwargs: Record<string, unknown>,
    options: { args?: unknown[]; queue?: string; countdownMs?: number; expires?: number } = {},
  ): Promise<TaskHandle<T>> => {
    const handle = await app!.client.send<T>(task, kwargs, {
      worker: 'celery',
      queue: QUEUE,
      ...options,
    });
    sent.push({ task, id: handle.id });
    return handle;
  };
  const call = async <T>(...args: Parameters<typeof send>): Promise<T> =>
    (await send<T>(...args)).result({ timeoutMs: RESULT_TIMEOUT_MS });
  const failure = async (...args: Parameters<typeof send>): Promise<TaskResultRecord> => {
    const handle = await send(...args);
    const error = await handle.result({ timeoutMs: RESULT_TIMEOUT_MS }).then(
      () => null,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(TaskFailedError);
    return (error as TaskFailedError).record;
  };

  const cli = (...args: string[]): Promise<CliRun> =>
    new Promise((resolveRun) => {
      execFile(
        process.execPath,
        ['-r', '@swc-node/register', 'scripts/tasks-cli.ts', ...args],
        { cwd: ROOT, env: { ...process.env, ...infra!.env }, timeout: CLI_TIMEOUT_MS },
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

  beforeAll(async () => {
    await ensurePythonCelery();
    infra = await isolatedInfrastructure();
    const started = await Promise.allSettled([
      startCeleryWorker({
        cwd: FIXTURES,
        app: 'python_worker',
        queues: [QUEUE, 'celery'],
        readyLine: READY_LINE,
        env: { CLEARLINE_TEST_CELERY_BROKER: infra.amqpUrl },
      }),
      startTaskApp({ infra, tasks: { beat: false, retention: false } }),
    ]);
    worker = started[0].status === 'fulfilled' ? started[0].value : null;
    app = started[1].status === 'fulfilled' ? started[1].value : null;
    for (const outcome of started) if (outcome.status === 'rejected') throw outcome.reason;
  }, PYTHON_CELERY_INSTALL_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    // The worker first: nothing of it may outlive a failed run.
    await worker?.stop();
    await app?.close();
    await infra?.destroy();
  });

  it('positional args, kwargs and both reach the Python task; its result comes back', async () => {
    const [positional, keywords, both, defaultQueue] = await Promise.all([
      call<number>('py.add', {}, { args: [2, 3] }),
      call<number>('py.add', { x: 2, y: 40 }),
      call('py.describe', { note: 'café', amount: 1250 }, { args: [1, 'two', null] }),
      // No queue named: Celery's default queue, `celery`.
      app!.client.send<number>('py.add', {}, { worker: 'celery', args: [20, 1] }).then((handle) => {
        sent.push({ task: 'py.add', id: handle.id });
        return handle.result({ timeoutMs: RESULT_TIMEOUT_MS });
      }),
    ]);
    expect(positional).toBe(5);
    expect(keywords).toBe(42);
    expect(both).toEqual({ args: [1, 'two', null], kwargs: { note: 'café', amount: 1250 } });
    expect(defaultQueue).toBe(21);
  });

  it("the worker reads our message as Celery's own: headers, reply_to, route, eta", async () => {
    const handle = await send<Record<string, unknown>>(
      'py.request',
      { card_number: '4242424242424242', note: "it's" },
      { args: [1, 'a'], countdownMs: 300, expires: 60_000 },
    );
    const seen = await handle.result({ timeoutMs: RESULT_TIMEOUT_MS });
    expect(seen).toMatchObject({
      id: handle.id,
      root_id: handle.id,
      parent_id: null,
      group: null,
      retries: 0,
      correlation_id: handle.id,
      reply_to: expect.stringMatching(/^clearline\.reply\.test\./) as string,
      // Celery's own routing for `queue=`: the default exchange, the queue's name.
      delivery_info: { exchange: '', routing_key: QUEUE },
      argsrepr: "[1, 'a']",
      kwargsrepr: `{'card_number': '***', 'note': "it's"}`,
      replaced_task_nesting: 0,
      ignore_result: false,
      timelimit: [null, null],
      args: [1, 'a'],
      // The body keeps the real value; only the description is redacted.
      kwargs: { card_number: '4242424242424242', note: "it's" },
    });
    // The countdown travelled as the eta header, which the worker held the task for.
    expect(typeof seen['eta']).toBe('string');
    expect(typeof seen['expires']).toBe('string');
    expect(String(seen['origin'])).toMatch(/^\d+@/);
    expect(await handle.state()).toMatchObject({ state: 'SUCCESS', task: 'py.request' });
  });

  it('a Python exception comes back as a failure with its type name and message', async () => {
    const [refused, divided] = await Promise.all([
      failure('py.refuse', {}, { args: ['card declined'] }),
      failure('py.divide', { a: 1, b: 0 }),
    ]);
    expect(refused).toMatchObject({
      state: 'FAILURE',
      task: 'py.refuse',
      errorType: 'PaymentRefused',
      errorMessage: 'card declined',
    });
    expect(divided).toMatchObject({
      state: 'FAILURE',
      errorType: 'ZeroDivisionError',
      errorMessage: 'division by zero',
    });
  });

  it('a queue no worker declared is refused at once, not declared by us', async () => {
    await expect(
      app!.client.send('py.add', {}, { worker: 'celery', queue: 'py.nobody', args: [1, 2] }),
    ).rejects.toBeInstanceOf(UnroutableError);
  });

  it('the reply queue is bounded and declared again when the connection comes back', async () => {
    const broker = new URL(infra!.amqpUrl);
    const proxy = await tcpProxy({ host: broker.hostname, port: Number(broker.port || 5672) });
    const cutOff = await startTaskApp({
      infra: infra!,
      service: 'cutoff',
      env: { AMQP_URL: throughProxy(infra!.amqpUrl, proxy) },
      tasks: { beat: false, retention: false },
    });
    try {
      const add = async (x: number, y: number): Promise<number> => {
        // The send waits (within its deadline) for the reply queue on the new connection.
        const handle = await cutOff.client.send<number>(
          'py.add',
          {},
          {
            worker: 'celery',
            queue: QUEUE,
            args: [x, y],
            confirmTimeoutMs: 20_000,
          },
        );
        sent.push({ task: 'py.add', id: handle.id });
        return handle.result({ timeoutMs: RESULT_TIMEOUT_MS });
      };
      expect(await add(1, 2)).toBe(3);
      const queues = await managementGet<ManagedQueue[]>(
        `/queues/${encodeURIComponent(infra!.name)}`,
      );
      expect(
        queues.find((queue) => queue.name.startsWith('clearline.reply.cutoff.')),
      ).toMatchObject({
        exclusive: true,
        auto_delete: true,
        durable: false,
        arguments: { 'x-max-length': 10_000, 'x-queue-type': 'classic' },
      });
      // Celery's own queue, as the Python worker declared it: classic, durable, no arguments.
      expect(queues.find((queue) => queue.name === QUEUE)).toMatchObject({
        durable: true,
        arguments: {},
        type: 'classic',
      });

      proxy.cut();
      await eventually(() => !cutOff.client.brokerStatus().connected, {
        what: 'the client to see the connection lost',
      });
      proxy.heal();
      expect(await add(4, 5)).toBe(9);
    } finally {
      await cutOff.close();
      await proxy.close();
    }
  });

  it('npm run tasks -- call prints the result as its last line, or exits 1 with the error', async () => {
    const [positional, both, failed] = await Promise.all([
      cli('call', 'py.add', '--queue', QUEUE, '--args', '[2, 3]', '--wait', '20'),
      cli(
        'call',
        'py.describe',
        ...['--queue', QUEUE, '--args', '[1]', '--kwargs', '{"k":"v"}', '--wait', '20'],
      ),
      cli('call', 'py.refuse', '--queue', QUEUE, '--args', '["no funds"]', '--wait', '20'),
    ]);
    for (const run of [positional, both, failed]) {
      const id = /^sent (\S+) (\S+)$/m.exec(run.stdout);
      if (id) sent.push({ task: id[1] ?? '', id: id[2] ?? '' });
    }
    expect(positional).toMatchObject({ code: 0, last: '5' });
    expect(JSON.parse(both.last)).toEqual({ args: [1], kwargs: { k: 'v' } });
    expect(both.code).toBe(0);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.last)).toMatchObject({
      state: 'FAILURE',
      error_type: 'PaymentRefused',
      error_message: 'no funds',
    });
  });

  it('the worker logged no warning or error about any of our messages', async () => {
    expect(sent.length).toBeGreaterThanOrEqual(10);
    const outcome = ({ task, id }: { task: string; id: string }): RegExp =>
      new RegExp(`^Task ${task.replace('.', '\\.')}\\[${id}\\] (succeeded|raised) `);
    // Every task's outcome is in the log (written after its reply was sent).
    await eventually(
      () => {
        const records = celeryLogRecords(worker!.logSinceReady());
        return sent.every((task) => records.some((record) => outcome(task).test(record.text)));
      },
      { what: "every task's outcome in the worker's log" },
    );
    const records = celeryLogRecords(worker!.logSinceReady());
    // The failures the tests provoked are logged as errors, with their tracebacks; nothing else may be.
    const provoked = sent.filter(({ task }) => FAILING_TASKS.has(task)).map(outcome);
    const noted = records.filter(
      (record) =>
        (record.level !== 'INFO' || /warning|traceback/i.test(record.text)) &&
        !provoked.some((failure) => failure.test(record.text)),
    );
    expect(noted).toEqual([]);
    expect(records.filter((record) => / received$/.test(record.text))).toHaveLength(sent.length);
  });
});
