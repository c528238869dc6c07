import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';

export const MERCHANT_NAME_LENGTH_MAX = 200;
export const WEBHOOK_URL_LENGTH_MAX = 2_048;
/** 100 % in basis points. */
export const PERCENT_BPS_MAX = 10_000;
/** The largest fixed fee per payment, in minor units. */
export const FIXED_FEE_MAX = 1_000_000;
/** Stripe's standard card pricing: 2.9 % + 30 minor units. */
export const DEFAULT_PRICING = { percent_bps: 290, fixed: 30 } as const;

export class PricingDto {
  @ApiProperty({
    minimum: 0,
    maximum: PERCENT_BPS_MAX,
    example: 290,
    description: 'Percent fee in basis points (290 = 2.9 %).',
  })
  @IsInt()
  @Min(0)
  @Max(PERCENT_BPS_MAX)
  percent_bps!: number;

  @ApiProperty({
    minimum: 0,
    maximum: FIXED_FEE_MAX,
    example: 30,
    description: 'Fixed fee per payment, in minor units.',
  })
  @IsInt()
  @Min(0)
  @Max(FIXED_FEE_MAX)
  fixed!: number;
}

export class CreateMerchantDto {
  @ApiProperty({ maxLength: MERCHANT_NAME_LENGTH_MAX, example: 'Acme Books' })
  @IsString()
  @MinLength(1)
  @MaxLength(MERCHANT_NAME_LENGTH_MAX)
  name!: string;

  @ApiPropertyOptional({
    maxLength: WEBHOOK_URL_LENGTH_MAX,
    example: 'https://acme.example/webhooks',
  })
  @IsOptional()
  @IsString()
  @MaxLength(WEBHOOK_URL_LENGTH_MAX)
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false })
  webhook_url?: string | null;

  @ApiPropertyOptional({
    type: PricingDto,
    description: `Defaults to ${DEFAULT_PRICING.percent_bps} bps + ${DEFAULT_PRICING.fixed}.`,
  })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => PricingDto)
  pricing?: PricingDto;
}

export class MerchantDto {
  @ApiProperty({ example: 'mer_3kTq9XbQ2mJx8vLrP0aZc7Ye' })
  id!: string;

  @ApiProperty({ enum: ['merchant'] })
  object!: 'merchant';

  @ApiProperty()
  name!: string;

  @ApiProperty({ type: String, nullable: true })
  webhook_url!: string | null;

  @ApiProperty({ type: PricingDto })
  pricing!: PricingDto;

  @ApiProperty({ description: 'Unix time in seconds.' })
  created!: number;
}

export class CreatedMerchantDto extends MerchantDto {
  @ApiProperty({
    description: 'The secret API key; shown once, stored only as a hash.',
    example: 'sk_test_…',
  })
  api_key!: string;

  @ApiProperty({ description: 'Signs webhooks (Clearline-Signature).', example: 'whsec_…' })
  webhook_secret!: string;
}

export class ApiKeyDto {
  @ApiProperty({ example: 'key_…' })
  id!: string;

  @ApiProperty({ enum: ['api_key'] })
  object!: 'api_key';

  @ApiProperty({ description: 'The merchant id.' })
  merchant!: string;

  @ApiProperty({ description: 'The new secret API key; shown once.', example: 'sk_test_…' })
  api_key!: string;

  @ApiProperty({ description: 'What may be displayed of the key.', example: 'sk_test_Ab12' })
  prefix!: string;

  @ApiProperty({ type: [String], description: 'The keys this roll revoked.' })
  revoked!: string[];

  @ApiProperty({ description: 'Unix time in seconds.' })
  created!: number;
}
