import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Counter, Gauge, Histogram } from 'prom-client';
import { toEventPayload } from '../events/event.mapper';
import { EventsRepository } from '../events/events.repository';
import type { WebhookAttempt } from '../events/event.model';
import { WebhookAttemptsRepository } from '../events/webhook-attempts.repository';
import type { GatewayEnvironment } from '../gateway.env';
import type { Merchant } from '../merchants/merchant.model';
import { MerchantsRepository } from '../merchants/merchants.repository';
import { MerchantSlots } from './merchant-slots';
import { WebhookPoster, type PostOutcome } from './webhook-post';
import { SIGNATURE_HEADER, signatureHeader } from './webhook-signature';
import { WebhookTargets } from './webhook-targets';
import { WebhookError, WebhookErrorCode } from './webhooks.exception';

/** Events whose merchant is remembered, so a deferral needs no query (an event never changes merchant). */
const REMEMBERED_EVENTS_MAX = 10_000;

/** A URL as our logs show it: without credentials, query or fragment (they may hold secrets). */
function loggedUrl(url: string): string {
  try {
    const { origin, pathname } = new URL(url);
    return `${origin}${pathname}`;
  } catch {
    return '(not a URL)';
  }
}

/** The secrets that sign a delivery now: the current one, and a rolled one until it expires. */
function signingSecrets(merchant: Merchant, now: Date): string[] {
  const previous = merchant.previousWebhookSecret;
  return previous && previous.expiresAt > now
    ? [merchant.webhookSecret, previous.secret]
    : [merchant.webhookSecret];
}

const deliveries = new Counter({
  name: 'clearline_webhook_deliveries_total',
  help: 'Webhook delivery attempts, by outcome (succeeded, failed) and error (none, or why it failed: timeout, dns_failed, http_status, ...)',
  labelNames: ['outcome', 'error'],
});
const deliveryDuration = new Histogram({
  name: 'clearline_webhook_delivery_duration_seconds',
  help: 'Time for a merchant endpoint to answer a webhook',
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
});
const inFlight = new Gauge({
  name: 'clearline_webhook_deliveries_in_flight',
  help: 'Webhook POSTs waiting for their endpoint now, in this process',
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

/**
 * The delivery cannot start now: the merchant has `WEBHOOK_MERCHANT_IN_FLIGHT_MAX`
 * deliveries in flight in this process. Not an attempt: try again after `countdownMs`.
 */
export interface Deferral {
  eventId: string;
  outcome: 'deferred';
  countdownMs: number;
}

/**
 * POSTs an event to its merchant's endpoint, signed, and records the attempt. Every
 * attempt is bounded (`WEBHOOK_CONNECT_TIMEOUT_MS`, `WEBHOOK_TIMEOUT_MS`), goes only to a
 * target the policy allows (`WebhookTargets`, checked against the address connected to)
 * and one merchant has at most `WEBHOOK_MERCHANT_IN_FLIGHT_MAX` attempts in flight in
 * this process; a delivery over the limit is deferred, not attempted. An attempt that
 * fails is recorded with a generic reason; its error's text goes to our logs only.
 */
@Injectable()
export class WebhooksService implements OnModuleDestroy {
  private readonly logger = new Logger(WebhooksService.name);
  private readonly poster: WebhookPoster;
  private readonly slots: MerchantSlots;
  private readonly timeoutMs: number;
  /** Event id to merchant id, oldest first (a Map keeps insertion order), bounded. */
  private readonly merchantOfEvent = new Map<string, string>();

  constructor(
    private readonly events: EventsRepository,
    private readonly attempts: WebhookAttemptsRepository,
    private readonly merchants: MerchantsRepository,
    targets: WebhookTargets,
    config: ConfigService<GatewayEnvironment, true>,
  ) {
    this.timeoutMs = config.get('WEBHOOK_TIMEOUT_MS', { infer: true });
    this.poster = new WebhookPoster(
      {
        connectTimeoutMs: config.get('WEBHOOK_CONNECT_TIMEOUT_MS', { infer: true }),
        timeoutMs: this.timeoutMs,
      },
      targets.policy,
    );
    this.slots = new MerchantSlots(config.get('WEBHOOK_MERCHANT_IN_FLIGHT_MAX', { infer: true }));
  }

  onModuleDestroy(): void {
    this.poster.close();
  }

  /**
   * Throws `WebhookError` `delivery_failed` when the endpoint does not answer 2xx in time
   * (the task retries), `event_not_found` for an event that does not exist (a fault).
   * Returns a deferral, without posting or recording anything, when the merchant's
   * in-flight limit is reached.
   */
  async deliver(eventId: string): Promise<Delivery | Deferral> {
    // A delivery deferred before comes back while its merchant may still be busy: that
    // check costs no query, so a backlog of deferrals does not load the database.
    const known = this.merchantOfEvent.get(eventId);
    if (known !== undefined && !this.slots.free(known)) return this.deferral(eventId);
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
    const release = this.slots.acquire(merchant.id);
    if (!release) {
      this.remember(eventId, merchant.id);
      return this.deferral(eventId);
    }
    let posted: PostOutcome;
    try {
      const body = JSON.stringify(toEventPayload(event));
      posted = await this.post(url, body, signingSecrets(merchant, new Date()));
    } finally {
      release();
    }
    return this.recordAttempt(eventId, url, posted);
  }

  private async recordAttempt(
    eventId: string,
    url: string,
    posted: PostOutcome,
  ): Promise<Delivery> {
    const { statusCode, failure, durationMs } = posted;
    const succeeded = failure === null;
    const attempt = await this.attempts.insert({
      eventId,
      url,
      statusCode,
      error: failure,
      succeeded,
      durationMs,
    });
    deliveries.inc({ outcome: succeeded ? 'succeeded' : 'failed', error: failure ?? 'none' });
    if (!succeeded) {
      const what = `webhook ${eventId} attempt ${attempt.attempt} to ${loggedUrl(url)}: ${failure}`;
      this.logger.warn(`${what}: ${posted.detail ?? 'no detail'}`);
      // Kept: the retry comes back through the delay levels and may meet a busy merchant.
      throw new WebhookError(
        statusCode === null ? what : `${what} (HTTP ${statusCode})`,
        WebhookErrorCode.DeliveryFailed,
      );
    }
    this.merchantOfEvent.delete(eventId);
    return { eventId, outcome: 'delivered', attempt };
  }

  /**
   * Back after about one attempt's time (a slot frees within `WEBHOOK_TIMEOUT_MS` at
   * most), spread over half to one and a half of it so a merchant's waiting deliveries
   * do not all return at once to find the slots taken again.
   */
  private deferral(eventId: string): Deferral {
    const countdownMs = Math.round(this.timeoutMs * (0.5 + Math.random()));
    return { eventId, outcome: 'deferred', countdownMs };
  }

  private remember(eventId: string, merchantId: string): void {
    this.merchantOfEvent.delete(eventId);
    this.merchantOfEvent.set(eventId, merchantId);
    if (this.merchantOfEvent.size <= REMEMBERED_EVENTS_MAX) return;
    const oldest = this.merchantOfEvent.keys().next();
    if (oldest.done !== true) this.merchantOfEvent.delete(oldest.value);
  }

  private async post(url: string, body: string, secrets: string[]): Promise<PostOutcome> {
    const timestampS = Math.floor(Date.now() / 1_000);
    const stopTimer = deliveryDuration.startTimer();
    inFlight.inc();
    try {
      return await this.poster.post(
        url,
        {
          'Content-Type': 'application/json; charset=utf-8',
          'User-Agent': 'Clearline-Webhooks/1',
          [SIGNATURE_HEADER]: signatureHeader(secrets, timestampS, body),
        },
        body,
      );
    } finally {
      inFlight.dec();
      stopTimer();
    }
  }
}
