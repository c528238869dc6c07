import { ApiProperty } from '@nestjs/swagger';
import { IsISO8601, IsString, Matches } from 'class-validator';
import { INT32, UNIX_SECONDS } from '../http/openapi';

/** The sandbox file's query: one UTC day. */
export class SettlementFileQuery {
  @ApiProperty({
    example: '2026-12-03',
    description: 'The UTC day whose charges and refunds the file lists, `YYYY-MM-DD`.',
  })
  @IsString()
  @Matches(/^\d{4}-\d{2}-\d{2}$/, { message: 'must be a date written YYYY-MM-DD' })
  @IsISO8601({ strict: true }, { message: 'must be a real date written YYYY-MM-DD' })
  date!: string;
}

export class ReconciliationCountsDto {
  @ApiProperty({ ...INT32, minimum: 0, description: 'Lines that match a record of ours.' })
  matched!: number;

  @ApiProperty({ ...INT32, minimum: 0, description: 'Lines no record of ours has.' })
  missing_in_ours!: number;

  @ApiProperty({
    ...INT32,
    minimum: 0,
    description: 'Records of ours, of a date the file covers, that no line names.',
  })
  missing_in_file!: number;

  @ApiProperty({ ...INT32, minimum: 0, description: 'Lines whose amount differs from ours.' })
  amount_mismatch!: number;

  @ApiProperty({
    ...INT32,
    minimum: 0,
    description: 'Lines of equal amount whose currency differs from ours (case aside).',
  })
  currency_mismatch!: number;

  @ApiProperty({
    ...INT32,
    minimum: 0,
    description: 'Second and later lines with the same reference and type.',
  })
  duplicate_in_file!: number;
}

/** A reconciliation of a processor's settlement file against our payments and refunds. */
export class ReconciliationDto {
  @ApiProperty({ example: 'rec_3kTq9XbQ2mJx8vLrP0aZc7Ye' })
  id!: string;

  @ApiProperty({ enum: ['reconciliation'] })
  object!: 'reconciliation';

  @ApiProperty({
    example: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    description: "The sha256 of the file's bytes, in hex; the same file reconciles once.",
  })
  file_sha256!: string;

  @ApiProperty({ ...INT32, minimum: 0, description: 'Data lines in the file (not the header).' })
  lines!: number;

  @ApiProperty({ type: ReconciliationCountsDto })
  counts!: ReconciliationCountsDto;

  @ApiProperty(UNIX_SECONDS)
  created!: number;
}
