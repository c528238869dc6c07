import { Optional } from '../http/optional';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsString, Max, MaxLength, Min } from 'class-validator';
import { PAYMENT_AMOUNT_MAX, PAYMENT_STATUSES, type PaymentStatus } from '@clearline/contracts';
import { CURRENCY_EXPONENTS } from '@clearline/ledger-core';
import { INT64, ListDto, UNIX_SECONDS } from '../http/openapi';
import { RequestErrorCode } from '../http/request.exception';
import { IsMetadata, METADATA_KEYS_MAX } from './metadata.validator';
import { CAPTURE_METHODS, type CaptureMethod } from './payment.model';

/** The payments' path: the list's `url`, and the `Location` of a payment still processing. */
export const PAYMENTS_URL = '/v1/payments';
export const DESCRIPTION_LENGTH_MAX = 1_000;
export const SOURCE_LENGTH_MAX = 255;
/** The ledger's currencies, as the API writes them (lower case, like Stripe). */
export const PAYMENT_CURRENCIES = Object.keys(CURRENCY_EXPONENTS)
  .map((code) => code.toLowerCase())
  .sort();

const AMOUNT_TOO_LARGE = { context: { code: RequestErrorCode.AmountTooLarge } };
/** An amount of a payment in the schema: minor units, 0 to PAYMENT_AMOUNT_MAX. */
const AMOUNT = { ...INT64, minimum: 0, maximum: PAYMENT_AMOUNT_MAX } as const;

export class CreatePaymentDto {
  @ApiProperty({
    ...INT64,
    minimum: 1,
    maximum: PAYMENT_AMOUNT_MAX,
    example: 2_000,
    description: 'A positive integer in the minor unit of the currency (2000 = 20.00 USD).',
  })
  // Checked from the bottom up: a non-integer is parameter_invalid before any bound.
  @Max(PAYMENT_AMOUNT_MAX, AMOUNT_TOO_LARGE)
  @Min(1)
  @IsInt()
  amount!: number;

  @ApiProperty({ enum: PAYMENT_CURRENCIES, example: 'usd', description: 'ISO 4217, lower case.' })
  @IsString()
  @IsIn(PAYMENT_CURRENCIES, { message: 'must be a supported lower-case ISO 4217 code' })
  currency!: string;

  @ApiProperty({ example: 'tok_visa', description: 'A payment method token; never card data.' })
  @IsString()
  @MaxLength(SOURCE_LENGTH_MAX)
  source!: string;

  @ApiPropertyOptional({ enum: CAPTURE_METHODS, default: 'automatic' })
  @Optional()
  @IsIn(CAPTURE_METHODS)
  capture_method?: CaptureMethod;

  @ApiPropertyOptional({ maxLength: DESCRIPTION_LENGTH_MAX })
  @Optional()
  @IsString()
  @MaxLength(DESCRIPTION_LENGTH_MAX)
  description?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string', maxLength: 500 },
    description: `Up to ${METADATA_KEYS_MAX} keys of at most 40 characters, string values of at most 500.`,
  })
  @Optional()
  @IsMetadata()
  metadata?: Record<string, string>;
}

export class CapturePaymentDto {
  @ApiPropertyOptional({
    ...INT64,
    minimum: 1,
    maximum: PAYMENT_AMOUNT_MAX,
    description: 'At most `amount_capturable` (the default); the rest is released.',
  })
  @Optional()
  @Max(PAYMENT_AMOUNT_MAX, AMOUNT_TOO_LARGE)
  @Min(1)
  @IsInt()
  amount_to_capture?: number;
}

export class PaymentDto {
  @ApiProperty({ example: 'pay_3kTq9XbQ2mJx8vLrP0aZc7Ye' })
  id!: string;

  @ApiProperty({ enum: ['payment'] })
  object!: 'payment';

  @ApiProperty({ ...AMOUNT, minimum: 1, example: 2_000 })
  amount!: number;

  @ApiProperty({ example: 'usd' })
  currency!: string;

  @ApiProperty({ enum: PAYMENT_STATUSES })
  status!: PaymentStatus;

  @ApiProperty({ enum: CAPTURE_METHODS })
  capture_method!: CaptureMethod;

  @ApiProperty({ ...AMOUNT, description: 'What a capture may still take.' })
  amount_capturable!: number;

  @ApiProperty({ ...AMOUNT, description: 'What was captured (less than `amount` if partly).' })
  amount_captured!: number;

  @ApiProperty({ ...AMOUNT, description: 'What succeeded refunds gave back.' })
  amount_refunded!: number;

  @ApiProperty({ example: 'tok_visa' })
  source!: string;

  @ApiProperty({ type: String, nullable: true })
  description!: string | null;

  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } })
  metadata!: Record<string, string>;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'card_declined',
    description: 'card_declined, insufficient_funds or processing_error when failed.',
  })
  failure_code!: string | null;

  @ApiProperty({ type: String, nullable: true })
  failure_message!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'sandbox_auth_pay_3kTq9XbQ2mJx8vLrP0aZc7Ye',
    description:
      'The processor’s id of the authorization, once it approved (what its settlement files ' +
      'name); null before, and when it declined.',
  })
  processor_reference!: string | null;

  @ApiProperty(UNIX_SECONDS)
  created!: number;
}

export const PaymentListDto = ListDto(PaymentDto, PAYMENTS_URL, 'PaymentListDto');
