import { OutboxStatement } from './task-outbox';

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
