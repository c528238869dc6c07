import { Optional } from '../http/optional';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsString, Max, MaxLength, Min } from 'class-validator';
import { INT32, INT64, ListDto, UNIX_SECONDS } from '../http/openapi';
import { PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, PageLimit } from '../http/pagination';
import { OPERATION_KINDS, type OperationKind } from './operation.model';

/** The list's path: its `url`. */
export const OPERATIONS_URL = '/v1/admin/operations';

/** The largest `older_than` (a year, in seconds). */
export const OLDER_THAN_S_MAX = 366 * 24 * 3_600;
const CURSOR_LENGTH_MAX = 255;

export class ListOperationsQuery {
  @PageLimit(PAGE_SIZE_MAX, PAGE_SIZE_DEFAULT)
  limit: number = PAGE_SIZE_DEFAULT;

  @ApiPropertyOptional({
    description: 'A payment or refund id: the page starts after it (operations begun later).',
  })
  @Optional()
  @IsString()
  @MaxLength(CURSOR_LENGTH_MAX)
  starting_after?: string;

  @ApiPropertyOptional({
    ...INT32,
    minimum: 0,
    maximum: OLDER_THAN_S_MAX,
    default: 0,
    description: 'Only operations in flight for at least this many seconds.',
  })
  @Optional()
  @Type(() => Number)
  @IsInt({ message: `older_than must be an integer between 0 and ${OLDER_THAN_S_MAX}` })
  @Min(0, { message: `older_than must be an integer between 0 and ${OLDER_THAN_S_MAX}` })
  @Max(OLDER_THAN_S_MAX, {
    message: `older_than must be an integer between 0 and ${OLDER_THAN_S_MAX}`,
  })
  older_than: number = 0;
}

/** A payment or refund whose operation has not ended. */
export class OperationDto {
  @ApiProperty({ example: 'pay_3kTq9XbQ2mJx8vLrP0aZc7Ye' })
  id!: string;

  @ApiProperty({ enum: ['payment', 'refund'] })
  object!: 'payment' | 'refund';

  @ApiProperty({
    enum: ['processing', 'capturing', 'canceling', 'pending'],
    description:
      'As stored: a payment shows `capturing` and `canceling`, which the merchant API shows as `processing`.',
  })
  status!: string;

  @ApiProperty({ enum: OPERATION_KINDS, description: 'The operation that has not ended.' })
  operation!: OperationKind;

  @ApiProperty({ example: 'mer_9aB2cD4eF6gH8iJ0kL2mN4oP', description: "The merchant's id." })
  merchant!: string;

  @ApiProperty({ ...UNIX_SECONDS, description: 'When the payment or refund was created.' })
  created!: number;

  @ApiProperty({
    ...UNIX_SECONDS,
    description: 'When the operation began (its last status change).',
  })
  updated!: number;

  @ApiProperty({ ...INT64, minimum: 0, description: 'Whole seconds since the operation began.' })
  age_s!: number;

  @ApiProperty({
    ...INT32,
    minimum: 0,
    description:
      'How many times the sweeper resumed the operation; at the maximum (10) it is left for an operator.',
  })
  resumes!: number;
}

export const OperationListDto = ListDto(
  OperationDto,
  OPERATIONS_URL,
  'OperationListDto',
  'More operations lie beyond this page (begun later).',
);
