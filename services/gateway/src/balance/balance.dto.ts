import { ApiProperty } from '@nestjs/swagger';

export class BalanceAmountDto {
  @ApiProperty({ example: 2_000, description: 'Minor units of the currency.' })
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
