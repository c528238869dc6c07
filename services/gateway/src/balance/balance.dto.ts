import { ApiProperty } from '@nestjs/swagger';
import { INT64, JSON_INTEGER_MAX } from '../http/openapi';

export class BalanceAmountDto {
  @ApiProperty({
    ...INT64,
    minimum: 0,
    maximum: JSON_INTEGER_MAX,
    example: 2_000,
    description: 'Minor units of the currency; never negative.',
  })
  amount!: number;

  @ApiProperty({ example: 'usd' })
  currency!: string;
}

/** Stripe's balance object, from the ledger. */
export class BalanceDto {
  @ApiProperty({ enum: ['balance'] })
  object!: 'balance';

  @ApiProperty({
    type: [BalanceAmountDto],
    description: 'Settled money: what refunds and payouts draw on.',
  })
  available!: BalanceAmountDto[];

  @ApiProperty({
    type: [BalanceAmountDto],
    description: 'Captured money not settled yet.',
  })
  pending!: BalanceAmountDto[];
}
