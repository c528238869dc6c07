import type { DeadLetter, TaskResultRecord } from '@clearline/tasks';
import { unixSeconds } from '../http/wire';
import type { DeadLetterDto, TaskDto } from './operations.dto';

const BODY_TEXT_MAX = 65_536;

function seconds(date: Date | null): number | null {
  return date ? unixSeconds(date) : null;
}

/** A task with no stored state is PENDING, as in Celery. */
export function toTaskDto(id: string, record: TaskResultRecord | null): TaskDto {
  return {
    id,
    object: 'task',
    task: record?.task ?? null,
    queue: record?.queue ?? null,
    state: record?.state ?? 'PENDING',
    result: record?.result ?? null,
    error:
      record && (record.errorType !== null || record.errorMessage !== null)
        ? { type: record.errorType, message: record.errorMessage }
        : null,
    traceback: record?.traceback ?? null,
    retries: record?.retries ?? 0,
    root_id: record?.rootId ?? null,
    parent_id: record?.parentId ?? null,
    group_id: record?.groupId ?? null,
    worker: record?.worker ?? null,
    created: seconds(record?.createdAt ?? null),
    started: seconds(record?.startedAt ?? null),
    date_done: seconds(record?.dateDone ?? null),
  };
}

export function toDeadLetterDto(letter: DeadLetter): DeadLetterDto {
  return {
    id: letter.id,
    object: 'dead_letter',
    queue: letter.queue,
    task: letter.task,
    reason: letter.reason,
    error: letter.error,
    error_type: letter.errorType,
    original_routing_key: letter.originalRoutingKey,
    failed_at: letter.failedAt,
    delivery_count: letter.deliveryCount,
    body: letter.body.slice(0, BODY_TEXT_MAX),
  };
}
