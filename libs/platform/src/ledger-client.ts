import { Injectable } from '@nestjs/common';
import {
  LEDGER_TASK,
  QUEUE,
  type CreateTransfersResult,
  type TransferWire,
} from '@clearline/contracts';
import { TaskClient, TaskFailedError, TaskTimeoutError } from '@clearline/tasks';

/** How long a service waits for the ledger to apply its transfers. */
export const LEDGER_RESULT_TIMEOUT_MS = 10_000;

/**
 * The ledger did not answer in time: the transfers may still be applied later, so
 * nothing may be concluded; the calling task should retry (it reads the stored result
 * back once the ledger answers).
 */
export class LedgerUnavailableError extends Error {
  override readonly name = 'LedgerUnavailableError';
}

/**
 * The ledger's task ended in FAILURE: its transaction rolled back, so none of its
 * transfers applied — and the failure is stored under the task id, so asking again
 * reads the same answer. A fault for an operator (the dead letters say why), never a
 * reason to retry.
 */
export class LedgerTaskFailedError extends Error {
  override readonly name = 'LedgerTaskFailedError';
}

export interface LedgerCallOptions {
  timeoutMs?: number;
  /** The ledger lane the task goes to: `realtime` (default) or `batch`. */
  lane?: 'realtime' | 'batch';
}

/**
 * How other services move money: one `ledger.create_transfers` task with a task id the
 * caller derives from its own object and step, so a redelivered caller reads the stored
 * result back instead of applying anything twice (transfer ids are fixed as well).
 */
@Injectable()
export class LedgerClient {
  constructor(private readonly tasks: TaskClient) {}

  /**
   * The ledger's result per transfer, in order (`ok`/`exists` = applied). Batch work
   * (settlement) passes `lane: 'batch'`: its transfers go to the ledger's batch queue, so
   * they never wait behind, nor hold, the real-time lane's prefetch and handlers.
   */
  async createTransfers(
    taskId: string,
    transfers: TransferWire[],
    { timeoutMs = LEDGER_RESULT_TIMEOUT_MS, lane = 'realtime' }: LedgerCallOptions = {},
  ): Promise<string[]> {
    try {
      const handle = await this.tasks.send<CreateTransfersResult>(
        LEDGER_TASK.createTransfers,
        { transfers },
        lane === 'batch' ? { id: taskId, queue: QUEUE.ledgerBatch } : { id: taskId },
      );
      return (await handle.result({ timeoutMs })).results;
    } catch (error) {
      if (error instanceof TaskTimeoutError) {
        throw new LedgerUnavailableError(`ledger task ${taskId}: ${error.message}`);
      }
      if (error instanceof TaskFailedError) {
        throw new LedgerTaskFailedError(`ledger task ${taskId}: ${error.message}`);
      }
      throw error;
    }
  }
}
