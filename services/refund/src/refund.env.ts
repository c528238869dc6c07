import { Type } from 'class-transformer';
import { IsIn, IsInt, Max, Min, Validate } from 'class-validator';
import { CommonEnvironment } from '@clearline/platform';
import {
  MoneyDestinationInProduction,
  PROCESSOR_NAMES,
  type ProcessorName,
} from '@clearline/processor';

export class RefundEnvironment extends CommonEnvironment {
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65_535)
  REFUND_PORT = 3002;

  /** The card processor refunds go to (the one payments went to); as the gateway's. */
  @Validate(MoneyDestinationInProduction, [PROCESSOR_NAMES])
  PAYMENT_PROCESSOR?: ProcessorName;

  /** Lets a production-like deployment (staging) run on the sandbox processor. */
  @IsIn(['0', '1'])
  ALLOW_SANDBOX_IN_PRODUCTION: '0' | '1' = '0';
}
