import { Injectable } from '@nestjs/common';
import { LEDGER_TASK, type LedgerCheckResult } from '@clearline/contracts';
import { DEAD_LETTER_PAGE_MAX, DeadLetterAdmin, ResultStore, TaskClient } from '@clearline/tasks';
import { GatewayError } from '../http/gateway.exception';
import { ListObject } from '../http/pagination';
import type { DeadLetterDto, ListDeadLettersQuery, TaskDto } from './operations.dto';
import { toDeadLetterDto, toTaskDto } from './operations.mapper';

export const DEAD_LETTERS_URL = '/v1/admin/dead-letters';
/** The ledger check reads every account and transfer in one snapshot: give it time. */
export const LEDGER_CHECK_TIMEOUT_MS = 30_000;

/** What operators ask of the task layer: task states and dead letters. */
@Injectable()
export class OperationsService {
  constructor(
    private readonly results: ResultStore,
    private readonly deadLetters: DeadLetterAdmin,
    private readonly tasks: TaskClient,
  ) {}

  async task(id: string): Promise<TaskDto> {
    return toTaskDto(id, await this.results.get(id));
  }

  /** One more than asked is read (when the page allows) to tell whether more wait. */
  async listDeadLetters(query: ListDeadLettersQuery): Promise<ListObject<DeadLetterDto>> {
    const read = Math.min(query.limit + 1, DEAD_LETTER_PAGE_MAX);
    const letters = await this.deadLetters.list({
      limit: read,
      ...(query.queue ? { queue: query.queue } : {}),
    });
    const hasMore = letters.length > query.limit || letters.length === DEAD_LETTER_PAGE_MAX;
    return new ListObject(
      DEAD_LETTERS_URL,
      letters.slice(0, query.limit).map(toDeadLetterDto),
      hasMore,
    );
  }

  async replayDeadLetter(id: string): Promise<DeadLetterDto> {
    const replayed = await this.deadLetters.replay(id);
    if (!replayed) throw GatewayError.notFound('dead letter', id);
    return toDeadLetterDto(replayed);
  }

  /** The ledger's invariant report, as the ledger gives it. */
  async ledgerCheck(): Promise<LedgerCheckResult> {
    const handle = await this.tasks.send<LedgerCheckResult>(LEDGER_TASK.check, {});
    return handle.result({ timeoutMs: LEDGER_CHECK_TIMEOUT_MS });
  }
}
