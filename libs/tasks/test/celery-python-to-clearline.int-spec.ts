/**
 * Python → Clearline, with the real thing: a Python Celery 5 client (Debian's
 * python3-celery, `client.py`) sends to Clearline's workers and reads results the way
 * Celery users do.
 *
 * - Configured with infra/celery/clearline_celery.py (docs/celery.md): `send_task`,
 *   `apply_async(queue=…)` with countdown, eta, expires, retries and link run on our
 *   workers, and `AsyncResult.get()` with `rpc://` receives our result, or our failure
 *   as an exception of our type name and message; the same stays in `task_results`.
 * - Unconfigured, with an explicit exchange and routing key (what the issue tried).
 * - Positional args, kwargs, both; Decimal, datetime and UUID values; a Decimal amount
 *   validated by a minor-units DTO (and refused, dead-lettered, when it has a fraction).
 * - A chain and a group built in Python (immutable and not): Python gets the result.
 * - A chord built in Python, with `ClearlineResults` (Clearline's PostgreSQL as its
 *   backend): our workers join it and Python reads the callback's result.
 * - A dead letter of a Python message (no message id) is replayed.
 *
 * How: our worker runs in this process on the file's vhost and database; one Python
 * process serves every test (its start-up costs about a second).
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { IsString } from 'class-validator';
import { IsMinorUnits } from '@clearline/contracts';
import { Task, TaskContext } from '@clearline/tasks';
import {
  eventually,
  isolatedInfrastructure,
  startTaskApp,
  type IsolatedInfrastructure,
  type TaskApp,
} from '@clearline/testing';
import { PythonCeleryClient } from './fixtures/celery-from-python/python-client';

const ROOT = resolve(__dirname, '../../..');
const PYTHON_INSTALL_TIMEOUT_MS = 10 * 60_000;

class ChargeDto {
  @IsMinorUnits()
  amount!: string;

  @IsString()
  currency!: string;
}

class InsufficientFundsError extends Error {
  override readonly name = 'InsufficientFundsError';
}

/** Each run of `gateway.when` and of the link callback, by task id. */
const ranAtMs = new Map<string, number>();
const linked: { parentResult: unknown; args: unknown[] }[] = [];
let flakyBroken = true;

@Controller()
class PythonFacingTasks {
  /** Everything the handler was given, as it was given. */
  @Task('gateway.echo')
  echo(@Payload() _payload: unknown, @Ctx() ctx: TaskContext): unknown {
    const describe = (value: unknown): unknown =>
      Buffer.isBuffer(value) ? { buffer: value.toString('utf8') } : value;
    return {
      args: ctx.message.args.map(describe),
      kwargs: Object.fromEntries(
        Object.entries(ctx.message.kwargs).map(([key, value]) => [key, describe(value)]),
      ),
      retries: ctx.message.retries,
    };
  }

  @Task('gateway.add')
  add(@Payload() _payload: unknown, @Ctx() ctx: TaskContext): number {
    return (ctx.message.args as number[]).reduce((sum, n) => sum + n, 0);
  }

  @Task('gateway.sum_list')
  sumList(@Payload() values: number[]): number {
    return values.reduce((sum, n) => sum + n, 0);
  }

  @Task('gateway.charge', { payload: ChargeDto })
  charge(@Payload() charge: ChargeDto): { amount: string; type: string } {
    return { amount: charge.amount, type: typeof charge.amount };
  }

  @Task('gateway.refuse')
  refuse(): never {
    throw new InsufficientFundsError('balance 100 is below 250');
  }

  @Task('gateway.when')
  when(@Ctx() ctx: TaskContext): number {
    const now = Date.now();
    ranAtMs.set(ctx.taskId, now);
    return now;
  }

  @Task('gateway.linked')
  linkedCallback(@Ctx() ctx: TaskContext): string {
    const [parentResult, ...args] = ctx.message.args;
    linked.push({ parentResult, args });
    return 'linked';
  }

  @Task('gateway.flaky')
  flaky(): string {
    if (flakyBroken) throw new Error('downstream is broken');
    return 'fixed';
  }
}

describe('Python Celery clients → Clearline workers', () => {
  let infra: IsolatedInfrastructure;
  let app: TaskApp;
  let python: PythonCeleryClient;

  beforeAll(async () => {
    execFileSync('bash', [resolve(ROOT, 'infra/local/python-celery.sh')], {
      stdio: 'ignore',
      timeout: PYTHON_INSTALL_TIMEOUT_MS,
    });
    infra = await isolatedInfrastructure();
    app = await startTaskApp({
      infra,
      controllers: [PythonFacingTasks],
      tasks: { prefetch: 50, concurrency: 20 },
    });
    python = await PythonCeleryClient.start({
      amqpUrl: infra.amqpUrl,
      databaseUrl: infra.databaseUrl,
    });
  });

  afterAll(async () => {
    await python.stop();
    await app.close();
    await infra.destroy();
  });

  it('answers send_task from a configured app: positional args, kwargs and both, to rpc://', async () => {
    const both = await python.run({
      kind: 'send',
      name: 'gateway.echo',
      args: [1, 'two'],
      kwargs: { three: 3 },
    });
    expect(both).toMatchObject({
      ok: true,
      value: { args: [1, 'two'], kwargs: { three: 3 }, retries: 0 },
    });
    const positional = await python.run({ kind: 'send', name: 'gateway.add', args: [2, 3, 4] });
    expect(positional).toMatchObject({ ok: true, value: 9 });
    // The same result stays readable from PostgreSQL.
    const stored = await app.store.get(positional.id ?? '');
    expect(stored).toMatchObject({ state: 'SUCCESS', result: 9, queue: 'gateway' });
  });

  it("answers a plain app that names Clearline's exchange and routing key itself", async () => {
    const answer = await python.run({
      kind: 'send',
      plain: true,
      routing_key: 'gateway',
      name: 'gateway.echo',
      kwargs: { note: 'x' },
    });
    expect(answer).toMatchObject({ ok: true, value: { args: [], kwargs: { note: 'x' } } });
  });

  it("routes apply_async(queue='gateway') to the quorum queue without redeclaring it", async () => {
    const answer = await python.run({
      kind: 'apply',
      name: 'gateway.add',
      args: [40, 2],
      options: { queue: 'gateway' },
    });
    expect(answer).toMatchObject({ ok: true, value: 42 });
    expect(python.stderr()).not.toMatch(/PRECONDITION_FAILED/);
  });

  it('raises our failure in Python as an exception of our type name and message', async () => {
    const answer = await python.run({ kind: 'send', name: 'gateway.refuse' });
    expect(answer).toMatchObject({
      ok: false,
      error: { type: 'InsufficientFundsError', message: 'balance 100 is below 250' },
    });
    await expect(app.store.get(answer.id ?? '')).resolves.toMatchObject({
      state: 'FAILURE',
      errorType: 'InsufficientFundsError',
    });
  });

  it('passes a Decimal amount to a minor-units DTO as exact text, and refuses one with a fraction', async () => {
    const accepted = await python.run({
      kind: 'send',
      name: 'gateway.charge',
      kwargs: { amount: { $decimal: '1250' }, currency: 'eur' },
    });
    expect(accepted).toMatchObject({ ok: true, value: { amount: '1250', type: 'string' } });
    const refused = await python.run({
      kind: 'send',
      name: 'gateway.charge',
      kwargs: { amount: { $decimal: '12.50' }, currency: 'eur' },
    });
    expect(refused).toMatchObject({ ok: false, error: { type: 'PayloadValidationError' } });
    expect(refused.error?.message).toMatch(/amount must be a positive amount in minor units/);
    const deadLetters = await app.deadLetters.list({ queue: 'gateway' });
    expect(deadLetters).toContainEqual(
      expect.objectContaining({ id: refused.id, reason: 'invalid-payload' }),
    );
  });

  it("understands datetimes, UUIDs and kombu's typed values (decimal, bytes)", async () => {
    const answer = await python.run({
      kind: 'send',
      name: 'gateway.echo',
      kwargs: {
        at: { $datetime: '2026-12-03T10:00:00+00:00' },
        id: { $uuid: '6f1c3e3a-8a4e-4b8e-9d3c-2f1f0c7b9a11' },
        typed: { __type__: 'decimal', __value__: '99.95' },
        raw: { __type__: 'bytes', __value__: 'héllo' },
      },
    });
    expect(answer).toMatchObject({
      ok: true,
      value: {
        kwargs: {
          // kombu writes UTC as `Z`.
          at: '2026-12-03T10:00:00Z',
          id: '6f1c3e3a-8a4e-4b8e-9d3c-2f1f0c7b9a11',
          typed: '99.95',
          raw: { buffer: 'héllo' },
        },
      },
    });
  });

  it('honours countdown and eta (never earlier), expires (revoked) and retries', async () => {
    const countdown = await python.run({
      kind: 'send',
      name: 'gateway.when',
      options: { countdown: 1 },
    });
    expect(countdown.ok).toBe(true);
    expect(countdown.value as number).toBeGreaterThanOrEqual((countdown.sent_at_ms ?? 0) + 995);
    const eta = await python.run({ kind: 'send', name: 'gateway.when', options: { eta_in_s: 1 } });
    expect(eta.value as number).toBeGreaterThanOrEqual((eta.sent_at_ms ?? 0) + 995);
    const expired = await python.run({
      kind: 'send',
      name: 'gateway.when',
      options: { expires_in_s: -5 },
    });
    expect(expired).toMatchObject({ ok: false, error: { type: 'TaskRevokedError' } });
    expect(ranAtMs.has(expired.id ?? '')).toBe(false);
    const retried = await python.run({
      kind: 'send',
      name: 'gateway.echo',
      options: { retries: 3 },
    });
    expect(retried).toMatchObject({ ok: true, value: { retries: 3 } });
  });

  it('sends a link callback with the result in front of its arguments', async () => {
    const answer = await python.run({
      kind: 'send',
      name: 'gateway.add',
      args: [5, 6],
      options: { link: { name: 'gateway.linked', args: ['extra'] } },
    });
    expect(answer).toMatchObject({ ok: true, value: 11 });
    await eventually(() => linked.find((l) => l.parentResult === 11), {
      what: 'the link callback to run',
    });
    expect(linked).toContainEqual({ parentResult: 11, args: ['extra'] });
  });

  it('runs a chain built in Python (immutable and not) and answers its last result', async () => {
    const answer = await python.run({
      kind: 'chain',
      tasks: [
        { name: 'gateway.add', args: [1, 2] },
        { name: 'gateway.add', args: [10] },
        { name: 'gateway.add', args: [100, 200], immutable: true },
        { name: 'gateway.add', args: [1000] },
      ],
    });
    expect(answer).toMatchObject({ ok: true, value: 1300 });
  });

  it('runs a group built in Python and answers every result in order', async () => {
    const answer = await python.run({
      kind: 'group',
      tasks: [
        { name: 'gateway.add', args: [1, 1] },
        { name: 'gateway.add', args: [2, 2] },
        { name: 'gateway.echo', kwargs: { n: 3 }, immutable: true },
      ],
    });
    expect(answer).toMatchObject({
      ok: true,
      value: [2, 4, { args: [], kwargs: { n: 3 }, retries: 0 }],
    });
  });

  it("runs a chord built in Python with ClearlineResults (Clearline's PostgreSQL)", async () => {
    const answer = await python.run({
      kind: 'chord',
      tasks: [1, 2, 3, 4, 5].map((n) => ({ name: 'gateway.add', args: [n, n] })),
      body: { name: 'gateway.sum_list' },
    });
    expect(answer).toMatchObject({ ok: true, value: 30 });
  });

  it('replays a dead letter of a Python message, which has no message id', async () => {
    flakyBroken = true;
    const failed = await python.run({ kind: 'send', name: 'gateway.flaky' });
    expect(failed).toMatchObject({ ok: false, error: { type: 'Error' } });
    const id = failed.id ?? '';
    const deadLetters = await app.deadLetters.list({ queue: 'gateway' });
    expect(deadLetters).toContainEqual(expect.objectContaining({ id, reason: 'failed' }));
    flakyBroken = false;
    await expect(app.deadLetters.replay(id)).resolves.toMatchObject({ id });
    await eventually(
      async () => ((await app.store.get(id))?.state === 'SUCCESS' ? true : undefined),
      { what: 'the replayed task to succeed' },
    );
    await expect(app.store.get(id)).resolves.toMatchObject({ result: 'fixed' });
  });

  it("keeps a Python worker of the configured app off Clearline's queues unless -Q names them", async () => {
    const unselected = await python.run({ kind: 'worker_queues' });
    expect(unselected).toMatchObject({ ok: true, value: ['celery'] });
    const selected = await python.run({ kind: 'worker_queues', select: ['celery', 'ledger'] });
    expect(selected).toMatchObject({ ok: true, value: ['celery', 'ledger'] });
  });

  it('leaves no warning or error in the Python client', () => {
    expect(python.stderr()).not.toMatch(/Traceback|Error|WARNING/);
  });
});
