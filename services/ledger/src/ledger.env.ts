import { Type } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { CommonEnvironment } from '@clearline/platform';

export class LedgerEnvironment extends CommonEnvironment {
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65_535)
  LEDGER_PORT = 3001;

  /**
   * The ledger applies what prefetch gives it in one transaction (group commit), so it
   * wants many tasks in hand: one-transfer tasks from the payment path batch up to this.
   */
  override TASK_PREFETCH = 2_000;
}
