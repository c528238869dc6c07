import { Type } from 'class-transformer';
import { IsIn, IsInt, Max, Min } from 'class-validator';
import { CommonEnvironment } from '@clearline/platform';
import { PROCESSOR_NAMES, type ProcessorName } from '@clearline/processor';

export class RefundEnvironment extends CommonEnvironment {
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65_535)
  REFUND_PORT = 3002;

  /** The card processor refunds go to (the one payments went to). */
  @IsIn(PROCESSOR_NAMES)
  PAYMENT_PROCESSOR: ProcessorName = 'sandbox';
}
