import {
  OUTBOX_WRITER_GRACE_MS,
  OutboxStatement,
  outboxSender,
  outboxWriterGraceMs,
} from './task-outbox';

/**
 * A statement that keeps only some of its outbox rows (joined to its own rows by key)
 * publishes, after its commit, the tasks of those rows only: `taskIdsOf` pairs keys and
 * tasks as `of` was given them.
 */
describe('OutboxStatement.taskIdsOf', () => {
  const task = (id: string) => ({ task: 'clearline.test', payload: {}, options: { id } });

  it('names the tasks of the kept keys, in the order given', () => {
    const outbox = OutboxStatement.of([task('t1'), task('t2'), task('t3')], {
      firstParameter: 1,
      keys: ['a', 'b', 'c'],
    });
    expect(outbox.taskIdsOf(new Set(['c', 'a']))).toEqual(['t1', 't3']);
    expect(outbox.taskIdsOf(new Set(['z']))).toEqual([]);
  });

  it('names no task of a statement whose tasks carry no key', () => {
    const outbox = OutboxStatement.of([task('t1')], { firstParameter: 1 });
    expect(outbox.taskIdsOf(new Set(['t1']))).toEqual([]);
  });
});

/**
 * A writer's own rows are left to it for twice its publisher's confirm deadline, never
 * less than OUTBOX_WRITER_GRACE_MS: a relay must not send a row whose writer is still
 * waiting for the broker's confirm of it.
 */
describe('the grace of a writer’s own rows', () => {
  const task = { task: 'clearline.test', payload: {}, options: { id: 't1' } };
  const saved = { ...outboxSender };
  afterEach(() => Object.assign(outboxSender, saved));

  it('is twice the confirm deadline, and at least OUTBOX_WRITER_GRACE_MS', () => {
    expect(outboxWriterGraceMs(5_000)).toBe(OUTBOX_WRITER_GRACE_MS);
    expect(outboxWriterGraceMs(100)).toBe(OUTBOX_WRITER_GRACE_MS);
    expect(outboxWriterGraceMs(30_000)).toBe(60_000);
  });

  it("is written into a writer row's relay_after, as the process set it", () => {
    outboxSender.writerGraceMs = outboxWriterGraceMs(30_000);
    const writer = OutboxStatement.of([task], { firstParameter: 1, sentBy: 'writer' });
    expect(writer.insert('rows')).toContain(`now() + interval '60000 milliseconds'`);
  });

  it('leaves relay rows due at once', () => {
    const relay = OutboxStatement.of([task], { firstParameter: 1 });
    expect(relay.insert('rows')).not.toContain('relay_after');
  });
});
