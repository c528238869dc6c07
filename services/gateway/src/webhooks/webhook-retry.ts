import { retryDelayMs, type TaskHandlerOptions } from '@clearline/tasks';
import { isTransientWebhookError } from './webhooks.exception';

/**
 * Retries of one webhook (what `webhookTaskOutcome` calls `retry`: a delivery that got
 * no 2xx; nothing else is retried): exponential from 2 s (2, 4, 8 s … so a brief outage heals
 * fast), capped at 8 h, 22 retries: the last attempt is about 3 days (73 h) after the
 * first. No jitter, so the schedule is what the docs say; deliveries of different
 * events are spread by when the events happened.
 */
export const WEBHOOK_RETRY = {
  retryOn: [isTransientWebhookError],
  retryCountMax: 22,
  retryBackoffMs: 2_000,
  retryBackoffMaxMs: 8 * 60 * 60 * 1_000,
  retryJitter: false,
} as const satisfies TaskHandlerOptions;

/** The delays before each retry, in order. */
export function webhookRetryScheduleMs(): number[] {
  return Array.from({ length: WEBHOOK_RETRY.retryCountMax }, (_, retries) =>
    retryDelayMs(WEBHOOK_RETRY, retries),
  );
}
