import type { TaskOutcome } from '@clearline/tasks';
import { DomainError } from '../common/domain-error';

/** The ways delivering a webhook fails. */
export enum WebhookErrorCode {
  /** The endpoint did not answer 2xx in time (or not at all): worth retrying later. */
  DeliveryFailed = 'delivery_failed',
  /** The task names an event that does not exist: a bug. */
  EventNotFound = 'event_not_found',
}

/**
 * What each code does to a delivery task (`gateway.deliver_webhook`), exhaustively. The
 * task runs only through the broker, so this is the feature's one transport switch.
 */
export function webhookTaskOutcome(code: WebhookErrorCode): TaskOutcome {
  switch (code) {
    case WebhookErrorCode.DeliveryFailed:
      return 'retry';
    case WebhookErrorCode.EventNotFound:
      return 'dead-letter';
    default: {
      const unknown: never = code;
      throw new Error(`no task outcome for webhook error code ${String(unknown)}`);
    }
  }
}

/** A domain error of webhook delivery: `new WebhookError('…', WebhookErrorCode.X)`. */
export class WebhookError extends DomainError<WebhookErrorCode> {
  override readonly name = 'WebhookError';
}

/** A webhook error whose code's outcome is `retry`: the delivery task's `retryOn`. */
export function isTransientWebhookError(error: unknown): boolean {
  return error instanceof WebhookError && webhookTaskOutcome(error.code) === 'retry';
}
