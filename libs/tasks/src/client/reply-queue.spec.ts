import { OrderedLanes } from '../ordered/ordered-lanes';
import { readCeleryReply, type SentTask } from './reply-queue';
import { buildTask } from './task-message-factory';

const sent: SentTask = {
  id: 't-1',
  task: 'py.add',
  queue: 'celery',
  rootId: 't-1',
  parentId: null,
  sentAt: new Date('2026-01-01T00:00:00Z'),
};

describe("a Celery rpc:// reply (celery/backends/rpc.py's _to_result)", () => {
  it('a SUCCESS carries the result', () => {
    const record = readCeleryReply(
      { task_id: 't-1', status: 'SUCCESS', result: { sum: 3 }, traceback: null, children: [] },
      sent,
    );
    expect(record).toMatchObject({
      id: 't-1',
      task: 'py.add',
      queue: 'celery',
      state: 'SUCCESS',
      result: { sum: 3 },
      errorType: null,
    });
  });

  it("a FAILURE carries the exception's type name and str(), and the traceback", () => {
    const failure = (exc_message: unknown): ReturnType<typeof readCeleryReply> =>
      readCeleryReply(
        {
          task_id: 't-1',
          status: 'FAILURE',
          result: { exc_type: 'PaymentRefused', exc_message, exc_module: 'shop.tasks' },
          traceback: 'Traceback (most recent call last): ...',
          children: [],
        },
        sent,
      );
    expect(failure(['card declined'])).toMatchObject({
      state: 'FAILURE',
      errorType: 'PaymentRefused',
      errorMessage: 'card declined',
      traceback: 'Traceback (most recent call last): ...',
    });
    // str(exc) of Python: no args, one non-text arg, several args.
    expect(failure([])?.errorMessage).toBe('');
    expect(failure([42])?.errorMessage).toBe('42');
    expect(failure(['a', 1, null])?.errorMessage).toBe("('a', 1, None)");
    expect(failure('older Celery: a text')?.errorMessage).toBe('older Celery: a text');
  });

  it('a REVOKED is a revoke; states that are not final keep the wait going', () => {
    expect(
      readCeleryReply(
        {
          task_id: 't-1',
          status: 'REVOKED',
          result: { exc_type: 'TaskRevokedError', exc_message: ['revoked'], exc_module: 'x' },
        },
        sent,
      ),
    ).toMatchObject({ state: 'REVOKED', errorType: 'TaskRevokedError', errorMessage: 'revoked' });
    for (const status of ['PENDING', 'STARTED', 'RETRY', 'PROGRESS']) {
      expect(readCeleryReply({ task_id: 't-1', status, result: null }, sent)).toBeNull();
    }
  });

  it('an unreadable reply fails the wait at once, saying what to configure', () => {
    expect(readCeleryReply(['not', 'an', 'object'], sent)).toMatchObject({
      state: 'FAILURE',
      errorType: 'UnreadableReply',
      errorMessage: expect.stringContaining("result_serializer='json'") as string,
    });
  });
});

describe("routing a task to a Python Celery worker (worker: 'celery')", () => {
  it("goes through the default exchange to the queue by name, with reply_to, Celery's default queue", () => {
    const routed = buildTask('py.add', { y: 2 }, { worker: 'celery', args: [1], replyTo: 'r' });
    expect(routed).toMatchObject({ queue: 'celery', exchange: '', routingKey: 'celery' });
    expect(routed.encoded.properties).toMatchObject({ replyTo: 'r', correlationId: routed.id });
    expect((JSON.parse(routed.encoded.content.toString()) as unknown[]).slice(0, 2)).toEqual([
      [1],
      { y: 2 },
    ]);
  });

  it('keeps a countdown in the eta header instead of our delay levels', () => {
    const before = Date.now();
    const routed = buildTask('py.add', {}, { worker: 'celery', queue: 'py', countdownMs: 60_000 });
    expect(routed).toMatchObject({ exchange: '', routingKey: 'py' });
    const eta = Date.parse((routed.encoded.properties.headers as { eta: string }).eta);
    expect(eta).toBeGreaterThanOrEqual(before + 60_000);
    // The same countdown to one of our queues travels the delay levels.
    expect(buildTask('py.add', {}, { queue: 'py', countdownMs: 60_000 }).exchange).toMatch(
      /^clearline\.delay\./,
    );
  });

  it('refuses an ordered task: its lane is ours', () => {
    const lanes = new OrderedLanes([
      { name: 'ledger.fees', ordered: { shards: 2, tasks: { 'ledger.post_fee': 'merchant_id' } } },
    ]);
    expect(() =>
      buildTask('ledger.post_fee', { merchant_id: 'm' }, { worker: 'celery' }, lanes),
    ).toThrow(/goes to its lane ledger\.fees, not to Celery/);
  });
});
