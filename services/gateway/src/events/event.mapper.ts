import { unixSeconds, type Plain } from '../http/wire';
import type { EventDto, EventPayloadDto, WebhookAttemptDto } from './event.dto';
import type { DeliveredEvent, Event, WebhookAttempt } from './event.model';

/** The body a webhook POSTs (and what the signature covers once serialized). */
export function toEventPayload(event: Event): Plain<EventPayloadDto> {
  return {
    id: event.id,
    object: 'event',
    type: event.type,
    created: unixSeconds(event.createdAt),
    data: event.data,
  };
}

export function toWebhookAttemptDto(attempt: WebhookAttempt): WebhookAttemptDto {
  return {
    object: 'webhook_attempt',
    attempt: attempt.attempt,
    url: attempt.url,
    status_code: attempt.statusCode,
    error: attempt.error,
    succeeded: attempt.succeeded,
    duration_ms: attempt.durationMs,
    created: unixSeconds(attempt.attemptedAt),
  };
}

/** The REST event object: the event with its delivery attempts. */
export function toEventDto(event: DeliveredEvent): EventDto {
  return {
    ...toEventPayload(event),
    delivery_attempts: event.deliveryAttempts.map(toWebhookAttemptDto),
  };
}
