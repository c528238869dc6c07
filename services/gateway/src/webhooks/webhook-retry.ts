import { retryDelayMs, type TaskHandlerOptions } from '@clearline/tasks';

/** A delivery that did not get a 2xx: worth retrying later. */
export class WebhookDeliveryFailed extends Error {
  override readonly name = 'WebhookDeliveryFailed';
}

/**
 * Retries of one webhook: exponential from 2 s (2, 4, 8 s … so a brief outage heals
 * fast), capped at 8 h, 22 retries: the last attempt is about 3 days (73 h) after the
 * first. No jitter, so the schedule is what the docs say; deliveries of different
 * events are spread by when the events happened.
 */
export const WEBHOOK_RETRY = {
  retryOn: [WebhookDeliveryFailed],
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
