import { unixSeconds, type Plain } from '../http/wire';
import type { EventDto, EventPayloadDto, WebhookAttemptDto } from './event.dto';
import type { EventRow, WebhookAttemptRow } from './event.rows';

/** The body a webhook POSTs (and what the signature covers once serialized). */
export function toEventPayload(row: EventRow): Plain<EventPayloadDto> {
  return {
    id: row.id,
    object: 'event',
    type: row.type,
    created: unixSeconds(row.created_at),
    data: row.data,
  };
}

export function toWebhookAttemptDto(row: WebhookAttemptRow): WebhookAttemptDto {
  return {
    object: 'webhook_attempt',
    attempt: row.attempt,
    url: row.url,
    status_code: row.status_code,
    error: row.error,
    succeeded: row.succeeded,
    duration_ms: row.duration_ms,
    created: unixSeconds(row.attempted_at),
  };
}

export function toEventDto(row: EventRow, attempts: readonly WebhookAttemptRow[]): EventDto {
  return { ...toEventPayload(row), delivery_attempts: attempts.map(toWebhookAttemptDto) };
}
