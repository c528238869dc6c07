import { Optional } from '../http/optional';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import { WORK_QUEUES } from '@clearline/contracts';
import { DEAD_LETTER_PAGE_MAX, TASK_STATES, type TaskState } from '@clearline/tasks';
import { INT32, ListDto, UNIX_SECONDS } from '../http/openapi';
import { PAGE_SIZE_DEFAULT, PageLimit } from '../http/pagination';

const QUEUE_NAMES = WORK_QUEUES.map((queue) => queue.name);

/** The dead letters' path: the list's `url`. */
export const DEAD_LETTERS_URL = '/v1/admin/dead-letters';

export class TaskErrorDto {
  @ApiProperty({ type: String, nullable: true, example: 'ProcessorUnavailableError' })
  type!: string | null;

  @ApiProperty({ type: String, nullable: true })
  message!: string | null;
}

/** A task's state and outcome, from the task layer's result store. */
export class TaskDto {
  @ApiProperty()
  id!: string;

  @ApiProperty({ enum: ['task'] })
  object!: 'task';

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'ledger.open_merchant',
    description: 'Null while PENDING (nothing recorded yet).',
  })
  task!: string | null;

  @ApiProperty({ type: String, nullable: true })
  queue!: string | null;

  @ApiProperty({ enum: TASK_STATES })
  state!: TaskState;

  @ApiProperty({ nullable: true, description: "The handler's return value (SUCCESS)." })
  result!: unknown;

  @ApiProperty({ type: TaskErrorDto, nullable: true })
  error!: TaskErrorDto | null;

  @ApiProperty({ type: String, nullable: true })
  traceback!: string | null;

  @ApiProperty({ ...INT32, minimum: 0, description: 'Retries so far (0: the first attempt).' })
  retries!: number;

  @ApiProperty({ type: String, nullable: true })
  root_id!: string | null;

  @ApiProperty({ type: String, nullable: true })
  parent_id!: string | null;

  @ApiProperty({ type: String, nullable: true })
  group_id!: string | null;

  @ApiProperty({ type: String, nullable: true })
  worker!: string | null;

  @ApiProperty({ ...UNIX_SECONDS, nullable: true, description: 'When it was recorded.' })
  created!: number | null;

  @ApiProperty({ ...UNIX_SECONDS, nullable: true, description: 'When a worker started it.' })
  started!: number | null;

  @ApiProperty({ ...UNIX_SECONDS, nullable: true, description: 'When it finished.' })
  date_done!: number | null;
}

export class ListDeadLettersQuery {
  @ApiPropertyOptional({ enum: QUEUE_NAMES, description: 'Only this work queue.' })
  @Optional()
  @IsIn(QUEUE_NAMES)
  queue?: string;

  @PageLimit(DEAD_LETTER_PAGE_MAX, PAGE_SIZE_DEFAULT)
  limit: number = PAGE_SIZE_DEFAULT;
}

export class DeadLetterDto {
  @ApiProperty({ description: 'The task id (message id).' })
  id!: string;

  @ApiProperty({ enum: ['dead_letter'] })
  object!: 'dead_letter';

  @ApiProperty()
  queue!: string;

  @ApiProperty({ type: String, nullable: true })
  task!: string | null;

  @ApiProperty({ example: 'retries-exhausted' })
  reason!: string;

  @ApiProperty({ type: String, nullable: true })
  error!: string | null;

  @ApiProperty({ type: String, nullable: true })
  error_type!: string | null;

  @ApiProperty({ type: String, nullable: true })
  original_routing_key!: string | null;

  @ApiProperty({ type: String, nullable: true })
  failed_at!: string | null;

  @ApiProperty({
    ...INT32,
    minimum: 0,
    nullable: true,
    description: "The broker's count of deliveries (quorum queues), when it has one.",
  })
  delivery_count!: number | null;

  @ApiProperty({ description: 'The message body (Celery protocol 2 JSON), possibly cut short.' })
  body!: string;
}

export const DeadLetterListDto = ListDto(
  DeadLetterDto,
  DEAD_LETTERS_URL,
  'DeadLetterListDto',
  'More dead letters wait beyond this page.',
);

export class LedgerCheckCurrencyDto {
  @ApiProperty({ example: 'USD' })
  currency!: string;

  @ApiProperty({
    example: '120000',
    description: 'Posted debits, minor units as a decimal string.',
  })
  debits!: string;

  @ApiProperty({
    example: '120000',
    description: 'Posted credits, minor units as a decimal string.',
  })
  credits!: string;
}

/** The ledger's invariant report (`ledger.check`), verbatim. */
export class LedgerCheckDto {
  @ApiProperty({ enum: ['ledger_check'] })
  object!: 'ledger_check';

  @ApiProperty({ description: 'Every invariant holds.' })
  balanced!: boolean;

  @ApiProperty({ type: [LedgerCheckCurrencyDto] })
  currencies!: LedgerCheckCurrencyDto[];

  @ApiProperty({ type: [String], description: 'What does not hold, in words.' })
  violations!: string[];
}
