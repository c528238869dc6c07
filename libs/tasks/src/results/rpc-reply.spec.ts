import { celeryResultBody } from './rpc-reply';

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
