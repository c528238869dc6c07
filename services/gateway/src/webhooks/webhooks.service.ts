import { Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { toEventPayload } from '../events/event.mapper';
import { EventsRepository } from '../events/events.repository';
import type { WebhookAttempt } from '../events/event.model';
import { WebhookAttemptsRepository } from '../events/webhook-attempts.repository';
import { MerchantsRepository } from '../merchants/merchants.repository';
import { SIGNATURE_HEADER, signatureHeader } from './webhook-signature';
import { WebhookError, WebhookErrorCode } from './webhooks.exception';

/** A merchant's endpoint must answer within this. */
export const WEBHOOK_TIMEOUT_MS = 10_000;
const ERROR_TEXT_MAX = 500;

const deliveries = new Counter({
  name: 'clearline_webhook_deliveries_total',
  help: 'Webhook delivery attempts, by outcome',
  labelNames: ['outcome'],
});
const deliveryDuration = new Histogram({
  name: 'clearline_webhook_delivery_duration_seconds',
  help: 'Time for a merchant endpoint to answer a webhook',
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
});

/** How one delivery task ended (it throws when it must be retried or is a fault). */
export interface Delivery {
  eventId: string;
  /**
   * `delivered` now, `already_delivered` by an earlier run, or `skipped`: the merchant
   * has no webhook URL (any more), so nothing is posted and nothing retried.
   */
  outcome: 'delivered' | 'already_delivered' | 'skipped';
  /** The attempt that delivered it, when this run did. */
  attempt: WebhookAttempt | null;
}

interface PostOutcome {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

function describe(error: unknown): string {
  const cause =
    error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  const text = error instanceof Error ? `${error.name}: ${error.message}${cause}` : String(error);
  return text.slice(0, ERROR_TEXT_MAX);
}

/** POSTs an event to its merchant's endpoint, signed, and records the attempt. */
@Injectable()
export class WebhooksService {
  constructor(
    private readonly events: EventsRepository,
    private readonly attempts: WebhookAttemptsRepository,
    private readonly merchants: MerchantsRepository,
  ) {}

  /**
   * Throws `WebhookError` `delivery_failed` when the endpoint does not answer 2xx (the
   * task retries), `event_not_found` for an event that does not exist (a fault).
   */
  async deliver(eventId: string): Promise<Delivery> {
    const event = await this.events.findById(eventId);
    if (!event) {
      throw new WebhookError(`event ${eventId} does not exist`, WebhookErrorCode.EventNotFound);
    }
    const none = { eventId, attempt: null };
    if (await this.attempts.delivered(eventId)) return { ...none, outcome: 'already_delivered' };
    // Read at every attempt, not when the event was queued: a URL changed or removed
    // since (PATCH /v1/admin/merchants/{id}) applies to deliveries already waiting.
    const merchant = await this.merchants.find(event.merchantId);
    const url = merchant?.webhookUrl;
    if (!merchant || !url) return { ...none, outcome: 'skipped' };
    const body = JSON.stringify(toEventPayload(event));
    const posted = await this.post(url, body, merchant.webhookSecret);
    const succeeded =
      posted.statusCode !== null && posted.statusCode >= 200 && posted.statusCode < 300;
    const attempt = await this.attempts.insert({ eventId, url, succeeded, ...posted });
    deliveries.inc({ outcome: succeeded ? 'succeeded' : 'failed' });
    if (!succeeded) {
      throw new WebhookError(
        `webhook ${eventId} attempt ${attempt.attempt} to ${url}: ${posted.error ?? `HTTP ${String(posted.statusCode)}`}`,
        WebhookErrorCode.DeliveryFailed,
      );
    }
    return { eventId, outcome: 'delivered', attempt };
  }

  private async post(url: string, body: string, secret: string): Promise<PostOutcome> {
    const timestampS = Math.floor(Date.now() / 1_000);
    const stopTimer = deliveryDuration.startTimer();
    const started = performance.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json; charset=utf-8',
          'User-Agent': 'Clearline-Webhooks/1',
          [SIGNATURE_HEADER]: signatureHeader(secret, timestampS, body),
        },
        body,
        // A redirect is a failure (as at Stripe): the signature is for this URL only.
        redirect: 'manual',
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      });
      statusCode = response.status;
      await response.body?.cancel();
    } catch (thrown) {
      error = describe(thrown);
    }
    stopTimer();
    return { statusCode, error, durationMs: Math.round(performance.now() - started) };
  }
}
