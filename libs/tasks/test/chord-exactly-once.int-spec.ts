/**
 * A chord's callback runs exactly once, after every member succeeded, whatever happens
 * to the members — on a real RabbitMQ and PostgreSQL, with real processes:
 *
 * - SIGKILL mid-group: a worker process (fixtures/chord-worker.ts) kills itself right
 *   after its fifth member's result and join committed, before the ack; the broker
 *   redelivers that member and every other one in flight to a second worker. The
 *   members that ran twice are counted once (the `task_chord_members` dedupe row), so
 *   the callback runs once, with all forty results in order.
 * - Retried members: half the members fail their first attempt with a retryable error
 *   and succeed on the retry; a retry is no result, so the callback waits for them all.
 * - Dead-lettered, then replayed: a member that fails for good fails the chord (the
 *   callback's result is FAILURE with Celery's `ChordError` naming the member, and the
 *   chord's errback runs once); replayed from the dead-letter queue after the fault is
 *   gone, it succeeds, and the callback runs then, once.
 *
 * The callbacks are plain tasks (no inbox) that insert one `chord_effects` row per run,
 * so a second callback message would leave a second row.
 */
import { randomUUID } from 'node:crypto';
import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { DataSource } from 'typeorm';
import { chord, group, signature, Task, TaskContext } from '@clearline/tasks';
import {
  eventually,
  holdsFor,
  isolatedInfrastructure,
  startTaskApp,
  type IsolatedInfrastructure,
  type TaskApp,
} from '@clearline/testing';
import { startFixture, type FixtureProcess } from './fixtures/fixture-process';

class TransientError extends Error {
  override readonly name = 'TransientError';
}

const faults = {
  /** Member indexes that fail their first attempt with a retryable error. */
  flaky: new Set<number>(),
  attempts: new Map<string, number>(),
  /** Member indexes that fail for good while in the set. */
  broken: new Set<number>(),
  errbacks: [] as unknown[],
};

/** Handlers of the in-process worker, on the `ledger` queue (the fixture serves `gateway`). */
@Controller()
class LedgerChordTasks {
  constructor(private readonly dataSource: DataSource) {}

  @Task('ledger.chord_member', {
    retryOn: [TransientError],
    retryCountMax: 3,
    retryBackoffMs: 50,
    retryJitter: false,
  })
  member(@Payload() n: number, @Ctx() ctx: TaskContext): number {
    const attempt = (faults.attempts.get(ctx.taskId) ?? 0) + 1;
    faults.attempts.set(ctx.taskId, attempt);
    if (faults.broken.has(n)) throw new Error(`member ${n} broke`);
    if (faults.flaky.has(n) && attempt === 1) throw new TransientError(`member ${n} stumbled`);
    return n * 10;
  }

  @Task('ledger.chord_done')
  async done(@Payload() results: unknown, @Ctx() ctx: TaskContext): Promise<number> {
    await this.dataSource.query(
      `INSERT INTO chord_effects (callback_id, results) VALUES ($1, $2::jsonb)`,
      [ctx.taskId, JSON.stringify(results)],
    );
    return Array.isArray(results) ? results.length : -1;
  }

  @Task('ledger.chord_errback')
  errback(@Payload() failedId: unknown): void {
    faults.errbacks.push(failedId);
  }
}

describe('chord exactly-once', () => {
  let infra: IsolatedInfrastructure;
  let app: TaskApp;
  const children: FixtureProcess[] = [];

  const effects = async (callbackId: string): Promise<unknown[]> => {
    const rows: { results: unknown }[] = await app.dataSource.query(
      `SELECT results FROM chord_effects WHERE callback_id = $1`,
      [callbackId],
    );
    return rows.map((row) => row.results);
  };
  const chordRow = async (id: string): Promise<{ done: number; state: string } | undefined> => {
    const rows: { done: number; state: string }[] = await app.dataSource.query(
      `SELECT done, state FROM task_chords WHERE id = $1`,
      [id],
    );
    return rows[0];
  };
  const expectOneEffect = async (callbackId: string, expected: unknown[]): Promise<void> => {
    await eventually(async () => (await effects(callbackId)).length > 0, {
      what: 'the chord callback to run',
    });
    await holdsFor(async () => (await effects(callbackId)).length === 1, {
      what: 'exactly one callback effect',
    });
    expect(await effects(callbackId)).toEqual([expected]);
  };

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    app = await startTaskApp({
      infra,
      controllers: [LedgerChordTasks],
      tasks: { prefetch: 20, concurrency: 10 },
    });
    await app.dataSource.query(
      `CREATE TABLE chord_effects (callback_id text NOT NULL, results jsonb NOT NULL)`,
    );
  });

  afterAll(async () => {
    await Promise.all(children.map((child) => child.stop()));
    await app.close();
    await infra.destroy();
  });

  it('runs the callback once when a member’s worker is killed after its commit', async () => {
    // Few members at a time, so the crash comes mid-group with several in flight.
    const crashing = startFixture('chord-worker', {
      ...infra.env,
      CRASH_AFTER_MEMBERS: '5',
      TASK_PREFETCH: '4',
      TASK_CONCURRENCY: '2',
    });
    children.push(crashing);
    await crashing.line(/^ready \d+$/);
    const groupId = randomUUID();
    const size = 40;
    const handle = await app.client.apply(
      chord(
        group(
          Array.from({ length: size }, (_, i) =>
            signature('gateway.chord_member', {}, { args: [i] }),
          ),
          { id: groupId },
        ),
        signature('gateway.chord_done'),
      ),
    );
    await expect(crashing.exit()).resolves.toEqual({ code: null, signal: 'SIGKILL' });
    // Killed mid-group: some members joined, the chord is not complete.
    const killed = await chordRow(groupId);
    expect(killed?.state).toBe('pending');
    expect(killed?.done).toBeGreaterThanOrEqual(5);
    expect(killed?.done).toBeLessThan(size);

    const worker = startFixture('chord-worker', infra.env);
    children.push(worker);
    await worker.line(/^ready \d+$/);
    const ordered = Array.from({ length: size }, (_, i) => i * 10);
    await expect(handle.result()).resolves.toBe(size);
    await expectOneEffect(handle.id, ordered);
    expect(await chordRow(groupId)).toEqual({ done: size, state: 'fired' });
  });

  it('waits for retried members and runs the callback once', async () => {
    const size = 20;
    for (let i = 0; i < size; i += 2) faults.flaky.add(i);
    const handle = await app.client.apply(
      chord(
        Array.from({ length: size }, (_, i) => signature('ledger.chord_member', {}, { args: [i] })),
        signature('ledger.chord_done', {}, { linkError: signature('ledger.chord_errback') }),
      ),
    );
    await expect(handle.result()).resolves.toBe(size);
    // A retry is not a failure for good: the chord never failed.
    expect(faults.errbacks).toEqual([]);
    await expectOneEffect(
      handle.id,
      Array.from({ length: size }, (_, i) => i * 10),
    );
    faults.flaky.clear();
  });

  it('fails the chord on a dead-lettered member, then runs the callback once after its replay', async () => {
    const size = 10;
    const ids = Array.from({ length: size }, () => randomUUID());
    const brokenId = ids[3] ?? '';
    faults.broken.add(3);
    const handle = await app.client.apply(
      chord(
        ids.map((id, i) => signature('ledger.chord_member', {}, { id, args: [i] })),
        signature('ledger.chord_done', {}, { linkError: signature('ledger.chord_errback') }),
      ),
    );
    const failed = await handle.settled();
    expect(failed).toMatchObject({
      state: 'FAILURE',
      errorType: 'ChordError',
      errorMessage: `Dependency ${brokenId} raised Error('member 3 broke')`,
    });
    // The chord's errback runs once, with the callback's id.
    await eventually(() => faults.errbacks.length > 0, { what: 'the chord errback' });
    await holdsFor(() => faults.errbacks.length === 1, { what: 'one errback run' });
    expect(faults.errbacks).toEqual([handle.id]);
    expect(await effects(handle.id)).toEqual([]);

    faults.broken.clear();
    await eventually(async () => (await app.deadLetters.replay(brokenId)) !== null, {
      what: 'the member to be replayed from the dead-letter queue',
    });
    await expectOneEffect(
      handle.id,
      Array.from({ length: size }, (_, i) => i * 10),
    );
    await eventually(async () => (await handle.state())?.state === 'SUCCESS', {
      what: 'the callback to succeed',
    });
    expect(faults.errbacks).toHaveLength(1);
  });
});
