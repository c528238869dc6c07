import type { Event, WebhookAttempt, WebhookAttemptError } from './event.model';

/** An `events` row. */
export interface EventRow {
  id: string;
  merchant_id: string;
  type: string;
  data: { object: unknown };
  created_at: Date;
}

/** A `webhook_attempts` row. */
export interface WebhookAttemptRow {
  event_id: string;
  attempt: number;
  url: string;
  status_code: number | null;
  /** One of WEBHOOK_ATTEMPT_ERRORS (a CHECK constraint holds the column to them). */
  error: WebhookAttemptError | null;
  succeeded: boolean;
  duration_ms: number;
  attempted_at: Date;
}

export function toEvent(row: EventRow): Event {
  return {
    id: row.id,
    merchantId: row.merchant_id,
    type: row.type,
    data: row.data,
    createdAt: row.created_at,
  };
}

export function toWebhookAttempt(row: WebhookAttemptRow): WebhookAttempt {
  return {
    eventId: row.event_id,
    attempt: row.attempt,
    url: row.url,
    statusCode: row.status_code,
    error: row.error,
    succeeded: row.succeeded,
    durationMs: row.duration_ms,
    attemptedAt: row.attempted_at,
  };
}
