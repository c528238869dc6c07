import { Optional } from '../http/optional';
import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateBy,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { INT32, INT64, UNIX_SECONDS } from '../http/openapi';
import { WEBHOOK_PORTS_DESCRIPTION } from '../webhooks/webhook-target';
import { PREVIOUS_WEBHOOK_SECRET_S_MAX } from './merchant.model';

export const MERCHANT_NAME_LENGTH_MAX = 200;
export const WEBHOOK_URL_LENGTH_MAX = 2_048;
/** 100 % in basis points. */
export const PERCENT_BPS_MAX = 10_000;
/** The largest fixed fee per payment, in minor units. */
export const FIXED_FEE_MAX = 1_000_000;
/** Stripe's standard card pricing: 2.9 % + 30 minor units. */
export const DEFAULT_PRICING = { percent_bps: 290, fixed: 30 } as const;

/** `webhook_url` in the schema: an http(s) URL, or null for none. */
const WEBHOOK_URL_PROPERTY = {
  type: String,
  format: 'uri',
  nullable: true,
  maxLength: WEBHOOK_URL_LENGTH_MAX,
  example: 'https://acme.example/webhooks',
  description:
    'Where events are POSTed; null: nowhere. `https` (`http` only where the deployment ' +
    `allows it), no user name or password, port ${WEBHOOK_PORTS_DESCRIPTION}, and a ` +
    'public host: one that is or resolves to a loopback, private, link-local, CGNAT, ' +
    'multicast, documentation or cloud metadata address is refused (400 ' +
    '`parameter_invalid`), now and at every delivery. Redirects are not followed.',
} as const;

/**
 * A webhook URL as the merchant routes take it: an absolute http(s) URL of at most
 * WEBHOOK_URL_LENGTH_MAX characters, or null (none). Absent is allowed too. Where it may
 * point is this deployment's policy, checked after this by `WebhookUrlPipe`.
 */
const IsWebhookUrl = (): PropertyDecorator =>
  applyDecorators(
    IsOptional(),
    IsString(),
    MaxLength(WEBHOOK_URL_LENGTH_MAX),
    ValidateBy({
      name: 'isWebhookUrl',
      validator: {
        validate: isHttpUrl,
        defaultMessage: () => 'webhook_url must be an absolute http(s) URL',
      },
    }),
  );

/** No spaces or control characters: the URL parser would drop them silently. */
const URL_UNSAFE_CHARACTER = /[\s\p{Cc}]/u;

/**
 * An absolute http(s) URL as the WHATWG URL parser reads it: the parser deliveries use,
 * so what is checked is what is connected to (another parser could read the host of
 * `https://2130706433/` or `https://0x7f.1/` otherwise than Node does: 127.0.0.1).
 */
function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string' || URL_UNSAFE_CHARACTER.test(value)) return false;
  try {
    const { protocol, hostname } = new URL(value);
    return (protocol === 'https:' || protocol === 'http:') && hostname !== '';
  } catch {
    return false;
  }
}

export class PricingDto {
  @ApiProperty({
    ...INT32,
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
    ...INT64,
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

const NAME_PROPERTY = {
  minLength: 1,
  maxLength: MERCHANT_NAME_LENGTH_MAX,
  example: 'Acme Books',
} as const;

export class CreateMerchantDto {
  @ApiProperty(NAME_PROPERTY)
  @IsString()
  @MinLength(1)
  @MaxLength(MERCHANT_NAME_LENGTH_MAX)
  name!: string;

  @ApiPropertyOptional(WEBHOOK_URL_PROPERTY)
  @IsWebhookUrl()
  webhook_url?: string | null;

  @ApiPropertyOptional({
    type: PricingDto,
    description: `Defaults to ${DEFAULT_PRICING.percent_bps} bps + ${DEFAULT_PRICING.fixed}.`,
  })
  @Optional()
  @IsObject()
  @ValidateNested()
  @Type(() => PricingDto)
  pricing?: PricingDto;
}

/**
 * `PATCH /v1/admin/merchants/{id}`: what may change; an absent field stays as it is.
 * Pricing is not among them: settlement computes fees with the merchant's pricing at
 * the cut-off, so a change would apply to payments captured before it.
 */
export class UpdateMerchantDto {
  @ApiPropertyOptional(NAME_PROPERTY)
  // Present means a name: null is refused, not taken for "absent".
  @ValidateIf((_object, value) => value !== undefined)
  @IsString()
  @MinLength(1)
  @MaxLength(MERCHANT_NAME_LENGTH_MAX)
  name?: string;

  @ApiPropertyOptional({
    ...WEBHOOK_URL_PROPERTY,
    description:
      'The new URL (validated as at creation), or null to remove it: no more webhooks, ' +
      'and deliveries already queued end without posting.',
  })
  @IsWebhookUrl()
  webhook_url?: string | null;
}

export class MerchantDto {
  @ApiProperty({ example: 'mer_3kTq9XbQ2mJx8vLrP0aZc7Ye' })
  id!: string;

  @ApiProperty({ enum: ['merchant'] })
  object!: 'merchant';

  @ApiProperty()
  name!: string;

  @ApiProperty({ ...WEBHOOK_URL_PROPERTY, description: 'Where events are POSTed; null: nowhere.' })
  webhook_url!: string | null;

  @ApiProperty({ type: PricingDto })
  pricing!: PricingDto;

  @ApiProperty(UNIX_SECONDS)
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

  @ApiProperty(UNIX_SECONDS)
  created!: number;
}

/** `POST /v1/webhook_secret/roll`. */
export class RollWebhookSecretDto {
  @ApiPropertyOptional({
    ...INT32,
    minimum: 0,
    maximum: PREVIOUS_WEBHOOK_SECRET_S_MAX,
    default: 0,
    description:
      'How long, in seconds, the replaced secret keeps signing deliveries beside the new ' +
      'one (each delivery then carries two `v1` signatures), so an endpoint can switch ' +
      'without rejecting one. 0 (the default) ends it at once: for a secret that leaked.',
  })
  @Optional()
  @IsInt()
  @Min(0)
  @Max(PREVIOUS_WEBHOOK_SECRET_S_MAX)
  previous_secret_expires_in?: number;
}

export class WebhookSecretDto {
  @ApiProperty({ enum: ['webhook_secret'] })
  object!: 'webhook_secret';

  @ApiProperty({ description: 'The merchant id.' })
  merchant!: string;

  @ApiProperty({
    description: 'The new signing secret (Clearline-Signature); shown once.',
    example: 'whsec_…',
  })
  secret!: string;

  @ApiProperty({
    ...UNIX_SECONDS,
    nullable: true,
    description: 'Until when the replaced secret also signs deliveries; null: it no longer does.',
  })
  previous_secret_expires!: number | null;

  @ApiProperty(UNIX_SECONDS)
  created!: number;
}
