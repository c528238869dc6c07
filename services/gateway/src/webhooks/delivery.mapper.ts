import type { DeliveryResult } from './webhook.task';
import type { Delivery } from './webhooks.service';

/** The delivery task's result. */
export function toDeliveryResult(delivery: Delivery): DeliveryResult {
  return {
    event_id: delivery.eventId,
    outcome: delivery.outcome,
    attempt: delivery.attempt?.attempt ?? null,
    status_code: delivery.attempt?.statusCode ?? null,
  };
}
