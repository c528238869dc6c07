import { TaskClient, TaskFailedError, TaskTimeoutError, type TaskHandle } from '@clearline/tasks';
import { QUEUE } from '@clearline/contracts';
import { LedgerClient, LedgerTaskFailedError, LedgerUnavailableError } from './ledger-client';

/** A TaskClient whose one send ends as `outcome` says. */
function clientEnding(outcome: () => never): TaskClient {
  const handle = { result: () => Promise.resolve().then(outcome) } as unknown as TaskHandle;
  return { send: () => Promise.resolve(handle) } as unknown as TaskClient;
}

describe('LedgerClient', () => {
  it('calls a ledger that did not answer in time unavailable (the transfers may still apply)', async () => {
    const ledger = new LedgerClient(
      clientEnding(() => {
        throw new TaskTimeoutError('re_1:ledger:post', 10);
      }),
    );
    await expect(ledger.createTransfers('re_1:ledger:post', [])).rejects.toBeInstanceOf(
      LedgerUnavailableError,
    );
  });

  it('calls a failed ledger task a failure, not an outage: nothing applied, and asking again reads the same', async () => {
    const ledger = new LedgerClient(
      clientEnding(() => {
        throw new TaskFailedError({
          id: 're_1:ledger:post',
          task: 'ledger.create_transfers',
          state: 'FAILURE',
          errorType: 'QueryFailedError',
          errorMessage: 'new row violates check constraint',
        } as never);
      }),
    );
    const attempt = ledger.createTransfers('re_1:ledger:post', []);
    await expect(attempt).rejects.toBeInstanceOf(LedgerTaskFailedError);
    await expect(attempt).rejects.not.toBeInstanceOf(LedgerUnavailableError);
  });

  it("sends batch work to the ledger's batch queue and real-time work to its own route", async () => {
    const sent: unknown[] = [];
    const handle = { result: () => Promise.resolve({ results: ['ok'] }) } as unknown as TaskHandle;
    const tasks = {
      send: (_task: string, _payload: unknown, options: unknown) => {
        sent.push(options);
        return Promise.resolve(handle);
      },
    } as unknown as TaskClient;
    const ledger = new LedgerClient(tasks);
    await ledger.createTransfers('stl_1:ledger:a1', [], { lane: 'batch' });
    await ledger.createTransfers('re_1:ledger:post', []);
    expect(sent).toEqual([
      { id: 'stl_1:ledger:a1', queue: QUEUE.ledgerBatch },
      { id: 're_1:ledger:post' },
    ]);
  });
});
