import type { Publisher } from '../broker/publisher';
import { UnroutableError } from '../broker/publisher';
import type { TaskMessage } from '../protocol/celery-message';
import { celeryResultBody, MISSING_REPLY_QUEUE_TTL_MS, RpcReplies } from './rpc-reply';

const base = { id: 'task-1', task: 'ledger.ping', queue: 'ledger', retries: 0 };

describe("results in the shape of Celery's rpc:// backend", () => {
  it('sends a success with its value and a done date', () => {
    const body = celeryResultBody('task-1', { ...base, state: 'SUCCESS', result: { pong: 'x' } });
    expect(body).toMatchObject({
      task_id: 'task-1',
      status: 'SUCCESS',
      result: { pong: 'x' },
      traceback: null,
      children: [],
    });
    expect(Number.isNaN(Date.parse(body.date_done ?? ''))).toBe(false);
  });

  it('sends a failure as an exception Celery rebuilds with our type name and message', () => {
    const body = celeryResultBody('task-1', {
      ...base,
      state: 'FAILURE',
      errorType: 'PayloadValidationError',
      errorMessage: 'note: must be a string',
      traceback: 'PayloadValidationError: note: must be a string\n    at …',
    });
    expect(body.result).toEqual({
      exc_type: 'PayloadValidationError',
      exc_message: ['note: must be a string'],
      exc_module: 'clearline',
    });
    expect(body.traceback).toContain('PayloadValidationError');
  });

  it("sends a revoke (or an expiry) as Celery's own TaskRevokedError", () => {
    const body = celeryResultBody('task-1', {
      ...base,
      state: 'REVOKED',
      errorType: 'TaskExpired',
      errorMessage: 'expired before it ran',
    });
    expect(body.result).toEqual({
      exc_type: 'TaskRevokedError',
      exc_message: ['expired before it ran'],
      exc_module: 'celery.exceptions',
    });
    expect(body.date_done).not.toBeNull();
  });

  it('sends a retry as the error that caused it, not done yet', () => {
    const body = celeryResultBody('task-1', {
      ...base,
      state: 'RETRY',
      errorType: 'ProcessorUnavailableError',
      errorMessage: 'try later',
    });
    expect(body).toMatchObject({ status: 'RETRY', date_done: null });
    expect(body.result).toMatchObject({ exc_type: 'ProcessorUnavailableError' });
  });
});

describe('replies to a reply queue that is missing', () => {
  const message = {
    id: 'task-1',
    task: 'ledger.ping',
    replyTo: 'celery-oid',
    correlationId: 'task-1',
  };

  it('stops trying a queue the broker had no route for, and tries it again later', async () => {
    let clock = 1_000;
    const published: string[] = [];
    const publisher = {
      publish: (_exchange: string, routingKey: string) => {
        published.push(routingKey);
        return Promise.reject(new UnroutableError('', routingKey));
      },
    } as unknown as Publisher;
    const replies = new RpcReplies(publisher, () => clock);
    const update = { ...base, state: 'SUCCESS' as const, result: 1 };
    const sent = message as unknown as TaskMessage;
    await replies.send(sent, update);
    await replies.send(sent, update);
    expect(published).toEqual(['celery-oid']);
    clock += MISSING_REPLY_QUEUE_TTL_MS + 1;
    await replies.send(sent, update);
    expect(published).toEqual(['celery-oid', 'celery-oid']);
  });
});
