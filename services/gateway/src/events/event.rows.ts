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
  error: string | null;
  succeeded: boolean;
  duration_ms: number;
  attempted_at: Date;
}
