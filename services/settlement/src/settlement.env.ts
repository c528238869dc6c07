import { Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsString,
  Max,
  Min,
  Validate,
  type ValidatorConstraintInterface,
  ValidatorConstraint,
} from 'class-validator';
import { CommonEnvironment } from '@clearline/platform';
import { MoneyDestinationInProduction } from '@clearline/processor';

/** A time zone the runtime knows (IANA name), e.g. `UTC`, `Europe/Paris`. */
@ValidatorConstraint({ name: 'isTimeZone' })
class IsTimeZone implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    if (typeof value !== 'string' || value === '') return false;
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: value });
      return true;
    } catch {
      return false;
    }
  }

  defaultMessage(): string {
    return 'SETTLEMENT_TIMEZONE must be an IANA time zone (e.g. UTC, Europe/Paris)';
  }
}

/** The payout rails that can be configured. */
const PAYOUT_RAILS = ['sandbox'] as const;

export class SettlementEnvironment extends CommonEnvironment {
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65_535)
  SETTLEMENT_PORT = 3003;

  /** The hour of the daily settlement run (its cut-off), in SETTLEMENT_TIMEZONE. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(23)
  SETTLEMENT_HOUR = 0;

  /** The time zone of SETTLEMENT_HOUR. */
  @IsString()
  @Validate(IsTimeZone)
  SETTLEMENT_TIMEZONE = 'UTC';

  /**
   * The process's CPU priority (`nice`, 0–19): settlement yields the CPU to the real-time
   * services running beside it. 0 keeps the default priority.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(19)
  SETTLEMENT_NICE = 10;

  /**
   * The batch lane's handlers: settling a merchant mostly waits (the database, the
   * ledger), so 8 settle twice as fast as the platform's default 4 at the same cost to
   * real-time payments (bench:settlement: 16 are no faster and cost payments more).
   */
  override TASK_CONCURRENCY_BATCH = 8;

  /** Where payouts are sent. Unset: the sandbox, except with NODE_ENV=production. */
  @Validate(MoneyDestinationInProduction, [PAYOUT_RAILS])
  PAYOUT_RAIL?: (typeof PAYOUT_RAILS)[number];

  /** Lets a production-like deployment (staging) pay out on the sandbox rail. */
  @IsIn(['0', '1'])
  ALLOW_SANDBOX_IN_PRODUCTION: '0' | '1' = '0';
}
