import { preparedStatement } from '@clearline/persistence';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { WebhookAttempt, WebhookAttemptError } from './event.model';
import { toWebhookAttempt, type WebhookAttemptRow } from './event.rows';

const COLUMNS = 'event_id, attempt, url, status_code, error, succeeded, duration_ms, attempted_at';

export interface NewWebhookAttempt {
  eventId: string;
  url: string;
  statusCode: number | null;
  error: WebhookAttemptError | null;
  succeeded: boolean;
  durationMs: number;
}

/** All SQL for webhook delivery attempts. */
@Injectable()
export class WebhookAttemptsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Records an attempt, numbered after the event's earlier ones. */
  async insert(attempt: NewWebhookAttempt): Promise<WebhookAttempt> {
    const rows = await this.dataSource.query<WebhookAttemptRow[]>(
      preparedStatement(`INSERT INTO webhook_attempts (event_id, attempt, url, status_code, error, succeeded, duration_ms)
       SELECT $1, coalesce(max(attempt), 0) + 1, $2, $3, $4, $5, $6
         FROM webhook_attempts WHERE event_id = $1
       RETURNING ${COLUMNS}`),
      [
        attempt.eventId,
        attempt.url,
        attempt.statusCode,
        attempt.error,
        attempt.succeeded,
        attempt.durationMs,
      ],
    );
    const [row] = rows;
    if (!row) throw new Error('INSERT … RETURNING gave no row');
    return toWebhookAttempt(row);
  }

  /** The attempts of these events, oldest first, in one query. */
  async forEvents(eventIds: readonly string[]): Promise<WebhookAttempt[]> {
    if (eventIds.length === 0) return [];
    const rows = await this.dataSource.query<WebhookAttemptRow[]>(
      preparedStatement(`SELECT ${COLUMNS} FROM webhook_attempts WHERE event_id = ANY($1::text[])
        ORDER BY event_id, attempt`),
      [eventIds],
    );
    return rows.map((row) => toWebhookAttempt(row));
  }

  /** Whether the event was delivered already (a redelivered task must not post it twice). */
  async delivered(eventId: string): Promise<boolean> {
    const rows = await this.dataSource.query<unknown[]>(
      preparedStatement(`SELECT 1 FROM webhook_attempts WHERE event_id = $1 AND succeeded LIMIT 1`),
      [eventId],
    );
    return rows.length > 0;
  }
}
