import { Injectable } from '@nestjs/common';
import { LEDGER_TASK, type LedgerCheckResult } from '@clearline/contracts';
import type { Page } from '@clearline/persistence';
import {
  DEAD_LETTER_PAGE_MAX,
  DeadLetterAdmin,
  ResultStore,
  TaskClient,
  type DeadLetter,
  type TaskResultRecord,
} from '@clearline/tasks';
import { OperationsError, OperationsErrorCode } from './operations.exception';

/** The ledger check reads every account and transfer in one snapshot: give it time. */
export const LEDGER_CHECK_TIMEOUT_MS = 30_000;

/** What operators ask of the task layer and the ledger: task states, dead letters, checks. */
@Injectable()
export class OperationsService {
  constructor(
    private readonly results: ResultStore,
    private readonly deadLetters: DeadLetterAdmin,
    private readonly tasks: TaskClient,
  ) {}

  /** The task's stored state, or null when nothing is recorded (PENDING, as in Celery). */
  task(id: string): Promise<TaskResultRecord | null> {
    return this.results.get(id);
  }

  /**
   * The oldest dead letters (of one queue, when `queue` is given). One more than asked is
   * read (when the page allows) to tell whether more wait.
   */
  async listDeadLetters(queue: string | null, limit: number): Promise<Page<DeadLetter>> {
    const read = Math.min(limit + 1, DEAD_LETTER_PAGE_MAX);
    const letters = await this.deadLetters.list({ limit: read, ...(queue ? { queue } : {}) });
    const hasMore = letters.length > limit || letters.length === DEAD_LETTER_PAGE_MAX;
    return { items: letters.slice(0, limit), hasMore };
  }

  async replayDeadLetter(id: string): Promise<DeadLetter> {
    const replayed = await this.deadLetters.replay(id);
    if (!replayed) {
      throw new OperationsError(
        `No such dead letter: '${id}'`,
        OperationsErrorCode.DeadLetterNotFound,
      );
    }
    return replayed;
  }

  /**
   * The ledger's invariant report, as the ledger gives it. A check that does not come
   * back in time rejects with `TaskTimeoutError`, which answers 503.
   */
  async ledgerCheck(): Promise<LedgerCheckResult> {
    // The publish's confirm keeps its own short deadline (a broker that is away answers
    // 503 in seconds); the check itself may take the rest.
    const deadlineMs = Date.now() + LEDGER_CHECK_TIMEOUT_MS;
    const handle = await this.tasks.send<LedgerCheckResult>(
      LEDGER_TASK.check,
      {},
      { ignoreResult: true },
    );
    return handle.result({ timeoutMs: Math.max(1, deadlineMs - Date.now()) });
  }
}
