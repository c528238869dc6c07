import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, Max, Min, ValidateIf } from 'class-validator';
import {
  CUT_OFF_MAX_S,
  PAYOUT_STATUSES,
  SETTLEMENT_RUN_STATUSES,
  type PayoutStatus,
  type SettlementRunStatus,
} from '@clearline/contracts';
import { INT32, INT64, JSON_INTEGER_MAX, ListDto, UNIX_SECONDS } from '../http/openapi';

/** The paths of the lists (their `url`). */
export const SETTLEMENTS_URL = '/v1/settlements';
export const PAYOUTS_URL = '/v1/payouts';

/** Money of a settlement: a sum of minor units, exact in JSON up to 2^53 − 1. */
const SUM = { ...INT64, minimum: 0, maximum: JSON_INTEGER_MAX } as const;

export class StartSettlementRunDto {
  @ApiPropertyOptional({
    ...UNIX_SECONDS,
    maximum: CUT_OFF_MAX_S,
    description:
      'Unix seconds, inclusive: the run settles what the ledger posted at or before it. ' +
      'Not in the future; now when absent. The same cut-off again answers the same run.',
  })
  // Absent means now; null is not a cut-off (IsOptional would let it through).
  @ValidateIf((body: StartSettlementRunDto) => body.cut_off !== undefined)
  @Max(CUT_OFF_MAX_S)
  @Min(0)
  @IsInt()
  cut_off?: number;
}

export class SettlementRunDto {
  @ApiProperty({ example: 'srun_3kTq9XbQ2mJx8vLrP0aZc7Ye' })
  id!: string;

  @ApiProperty({ enum: ['settlement_run'] })
  object!: 'settlement_run';

  @ApiProperty({ ...UNIX_SECONDS, description: 'Unix seconds, inclusive.' })
  cut_off!: number;

  @ApiProperty({ enum: SETTLEMENT_RUN_STATUSES })
  status!: SettlementRunStatus;

  @ApiProperty({ ...INT32, minimum: 0, description: 'Merchants with activity the run settles.' })
  merchants!: number;

  @ApiProperty(UNIX_SECONDS)
  created!: number;

  @ApiProperty({
    ...UNIX_SECONDS,
    type: 'integer',
    nullable: true,
    description: 'When the run ended (completed or partially failed); null while it runs.',
  })
  completed!: number | null;
}

export class SettlementDto {
  @ApiProperty({ example: 'stl_3kTq9XbQ2mJx8vLrP0aZc7Ye' })
  id!: string;

  @ApiProperty({ enum: ['settlement'] })
  object!: 'settlement';

  @ApiProperty({
    example: 'srun_3kTq9XbQ2mJx8vLrP0aZc7Ye',
    description: 'The run that settled it.',
  })
  run!: string;

  @ApiProperty({ example: 'usd', description: 'ISO 4217, lower case.' })
  currency!: string;

  @ApiProperty({ ...INT32, minimum: 0, description: 'Payments and refunds settled.' })
  count!: number;

  @ApiProperty({ ...SUM, description: 'What the settled payments captured.' })
  gross!: number;

  @ApiProperty({ ...SUM, description: 'What the settled refunds gave back.' })
  refunds!: number;

  @ApiProperty({ ...SUM, description: 'The fees of the settled payments (refunds return none).' })
  fees!: number;

  @ApiProperty({
    ...INT64,
    minimum: -JSON_INTEGER_MAX,
    maximum: JSON_INTEGER_MAX,
    description: '`gross − refunds − fees`; negative when refunds exceed captures.',
  })
  net!: number;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'po_3kTq9XbQ2mJx8vLrP0aZc7Ye',
    description: 'The payout of this settlement; null when there was nothing to pay out.',
  })
  payout!: string | null;

  @ApiProperty({ ...SUM, description: 'Fees still owed from earlier settlements, taken here.' })
  fees_carried_in!: number;

  @ApiProperty({ ...SUM, description: 'Fees left unpaid, carried to the next settlement.' })
  fees_carried_out!: number;

  @ApiProperty(UNIX_SECONDS)
  created!: number;
}

export class PayoutDto {
  @ApiProperty({ example: 'po_3kTq9XbQ2mJx8vLrP0aZc7Ye' })
  id!: string;

  @ApiProperty({ enum: ['payout'] })
  object!: 'payout';

  @ApiProperty({ ...SUM, minimum: 1, example: 2_000 })
  amount!: number;

  @ApiProperty({ example: 'usd' })
  currency!: string;

  @ApiProperty({ enum: PAYOUT_STATUSES })
  status!: PayoutStatus;

  @ApiProperty({ example: 'stl_3kTq9XbQ2mJx8vLrP0aZc7Ye', description: 'The settlement it pays.' })
  settlement!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Why the payout rail refused it; null unless `failed`.',
  })
  failure_code!: string | null;

  @ApiProperty(UNIX_SECONDS)
  created!: number;
}

export const SettlementListDto = ListDto(SettlementDto, SETTLEMENTS_URL, 'SettlementList');
export const PayoutListDto = ListDto(PayoutDto, PAYOUTS_URL, 'PayoutList');
