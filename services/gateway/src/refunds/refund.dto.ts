import { Optional } from '../http/optional';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsString, Matches, Max, Min } from 'class-validator';
import { PAYMENT_AMOUNT_MAX } from '@clearline/contracts';
import { RequestErrorCode } from '../http/request.exception';
import { ListQuery } from '../http/pagination';
import { IsMetadata, METADATA_KEYS_MAX } from '../payments/metadata.validator';
import { INT64, ListDto, UNIX_SECONDS } from '../http/openapi';
import {
  REFUND_REASONS,
  REFUND_STATUSES,
  type RefundReason,
  type RefundStatus,
} from './refund.model';

/** The refunds' path: the list's `url`, and the `Location` of a refund still pending. */
export const REFUNDS_URL = '/v1/refunds';
const PAYMENT_ID = /^pay_[A-Za-z0-9]{1,64}$/;
const AMOUNT_TOO_LARGE = { context: { code: RequestErrorCode.AmountTooLarge } };

export class CreateRefundDto {
  @ApiProperty({ example: 'pay_3kTq9XbQ2mJx8vLrP0aZc7Ye', description: 'The payment to refund.' })
  @IsString()
  @Matches(PAYMENT_ID, { message: 'must be a payment id (pay_…)' })
  payment!: string;

  @ApiPropertyOptional({
    ...INT64,
    minimum: 1,
    maximum: PAYMENT_AMOUNT_MAX,
    description: 'Minor units; by default what is still refundable on the payment.',
  })
  @Optional()
  @Max(PAYMENT_AMOUNT_MAX, AMOUNT_TOO_LARGE)
  @Min(1)
  @IsInt()
  amount?: number;

  @ApiPropertyOptional({ enum: REFUND_REASONS })
  @Optional()
  @IsIn(REFUND_REASONS)
  reason?: RefundReason;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string', maxLength: 500 },
    description: `Up to ${METADATA_KEYS_MAX} keys of at most 40 characters, string values of at most 500.`,
  })
  @Optional()
  @IsMetadata()
  metadata?: Record<string, string>;
}

export class RefundListQuery extends ListQuery {
  @ApiPropertyOptional({ description: 'Only the refunds of this payment.' })
  @Optional()
  @IsString()
  @Matches(PAYMENT_ID, { message: 'must be a payment id (pay_…)' })
  payment?: string;
}

export class RefundDto {
  @ApiProperty({ example: 're_3kTq9XbQ2mJx8vLrP0aZc7Ye' })
  id!: string;

  @ApiProperty({ enum: ['refund'] })
  object!: 'refund';

  @ApiProperty({ example: 'pay_3kTq9XbQ2mJx8vLrP0aZc7Ye' })
  payment!: string;

  @ApiProperty({ ...INT64, minimum: 1, maximum: PAYMENT_AMOUNT_MAX, example: 500 })
  amount!: number;

  @ApiProperty({ example: 'usd' })
  currency!: string;

  @ApiProperty({ enum: REFUND_STATUSES })
  status!: RefundStatus;

  @ApiProperty({ enum: REFUND_REASONS, nullable: true })
  reason!: RefundReason | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description:
      'When failed: the processor’s reason (expired_or_canceled_card, …), insufficient_funds ' +
      '(the merchant’s balance cannot cover it) or processor_unavailable.',
  })
  failure_reason!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'sandbox_re_re_3kTq9XbQ2mJx8vLrP0aZc7Ye',
    description:
      'The processor’s id of the refund, once it succeeded (what its settlement files name); ' +
      'null while pending and when it failed.',
  })
  processor_reference!: string | null;

  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } })
  metadata!: Record<string, string>;

  @ApiProperty(UNIX_SECONDS)
  created!: number;
}

export const RefundListDto = ListDto(RefundDto, REFUNDS_URL, 'RefundListDto');
