import type { TaskMessage } from '../protocol/celery-message';
import { DeferRequested, TaskContext } from './task-context';
import type { TaskHandlerOptions } from './task-options';

function context(options: TaskHandlerOptions = {}): TaskContext {
  const message: TaskMessage = {
    id: 'task-1',
    task: 'gateway.work',
    args: [],
    kwargs: {},
    embed: { callbacks: null, errbacks: null, chain: null, chord: null },
    retries: 3,
    eta: null,
    expires: null,
    rootId: 'task-1',
    parentId: null,
    group: null,
    groupIndex: null,
    timeLimitSoftS: null,
    timeLimitHardS: null,
    origin: 'test',
    ignoreResult: false,
    replyTo: null,
    correlationId: 'task-1',
  };
  return new TaskContext(message, 'gateway', null, options);
}

function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('did not throw');
}

describe('TaskContext.defer', () => {
  it('throws the deferral with its countdown, for the runner to send the task round', () => {
    const thrown = thrownBy(() => context().defer({ countdownMs: 1_500 }));
    expect(thrown).toBeInstanceOf(DeferRequested);
    expect(thrown).toMatchObject({ countdownMs: 1_500 });
  });

  it('refuses a countdown that is negative or fractional', () => {
    expect(() => context().defer({ countdownMs: -1 })).toThrow(RangeError);
    expect(() => context().defer({ countdownMs: 0.5 })).toThrow(RangeError);
  });

  it('refuses to defer an ordered task, which would lose its place', () => {
    const thrown = thrownBy(() => context({ orderedBy: 'account' }).defer({ countdownMs: 10 }));
    expect(thrown).not.toBeInstanceOf(DeferRequested);
    expect((thrown as Error).message).toMatch(/cannot be deferred/);
  });
});
