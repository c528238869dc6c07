import { decodeTask, encodeTask, MalformedTaskError } from '../protocol/celery-message';
import { chain, chord, group, si, signature } from './signature';
import { embedProblem } from './signature-dict';
import { planWorkflow } from './workflow-plan';
import { runAsTask } from './workflow-scope';

describe('workflow plans', () => {
  it('sends a chain’s first task with the rest reversed in its embed, as Celery dicts', () => {
    const plan = planWorkflow(
      chain(
        signature('gateway.a', { x: 1 }, { id: 'a' }),
        si('gateway.b', {}, { id: 'b', args: [2], queue: 'ledger' }),
        signature('gateway.c', {}, { id: 'c', linkError: signature('gateway.e', {}, { id: 'e' }) }),
      ),
    );
    expect(plan.handleId).toBe('c');
    const [first] = plan.tasks(0, 10);
    expect(first).toMatchObject({
      task: 'gateway.a',
      payload: { x: 1 },
      options: { id: 'a', rootId: 'a', args: [] },
    });
    expect(first?.embed?.chain).toEqual([
      {
        task: 'gateway.c',
        args: [],
        kwargs: {},
        options: {
          task_id: 'c',
          link_error: [
            {
              task: 'gateway.e',
              args: [],
              kwargs: {},
              options: { task_id: 'e' },
              subtask_type: null,
              immutable: false,
              chord_size: null,
            },
          ],
        },
        subtask_type: null,
        immutable: false,
        chord_size: null,
      },
      {
        task: 'gateway.b',
        args: [2],
        kwargs: {},
        options: { task_id: 'b', queue: 'ledger' },
        subtask_type: null,
        immutable: true,
        chord_size: null,
      },
    ]);
  });

  it('gives a chord’s members their group, index and callback, and builds them a chunk at a time', () => {
    const plan = planWorkflow(
      chord(
        group(
          Array.from({ length: 5 }, (_, i) => signature('gateway.m', {}, { args: [i] })),
          { id: 'g' },
        ),
        signature('gateway.cb', {}, { id: 'cb' }),
      ),
    );
    expect(plan.chord).toMatchObject({ id: 'g', size: 5, rootId: 'g' });
    expect(plan.handleId).toBe('cb');
    const chunk = plan.tasks(2, 4);
    expect(chunk.map((t) => [t.options.group, t.options.groupIndex, t.options.args])).toEqual([
      ['g', 2, [2]],
      ['g', 3, [3]],
    ]);
    expect(chunk[0]?.embed?.chord).toMatchObject({
      task: 'gateway.cb',
      options: { task_id: 'cb' },
    });
  });

  it('puts a workflow sent by a running handler under that task', () => {
    const plan = runAsTask({ id: 'parent', rootId: 'root' }, () =>
      planWorkflow(signature('gateway.a', {}, { id: 'a' })),
    );
    expect(plan.tasks(0, 1)[0]?.options).toMatchObject({ rootId: 'root', parentId: 'parent' });
  });

  it('refuses a message whose embed is not a workflow', () => {
    expect(embedProblem({ chain: [{ args: [] }] })).toBe('chain: a signature names no task');
    expect(embedProblem({ callbacks: 'x' })).toBe('callbacks is not a list');
    const bad = encodeTask({
      task: 'gateway.a',
      origin: 'test',
      embed: { chord: { task: 'gateway.cb', options: { link: 'nope' } } },
    });
    expect(() => decodeTask(bad.content, bad.properties)).toThrow(MalformedTaskError);
  });
});
