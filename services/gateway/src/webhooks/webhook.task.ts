import { IsString, Matches } from 'class-validator';

/**
 * The task that POSTs one event to its merchant's webhook URL. Consumed by the gateway
 * itself (queue `gateway.webhooks`, the webhook lane) and awaited by nobody, so its
 * contract (name, payload, result) stays in the gateway until another service needs it.
 */
export const DELIVER_WEBHOOK_TASK = 'gateway.deliver_webhook';

export class DeliverWebhookPayload {
  @IsString()
  @Matches(/^evt_[A-Za-z0-9]{1,64}$/)
  event_id!: string;
}

/** The delivery task's result, as operators read it (`GET /v1/admin/tasks/{id}`). */
export interface DeliveryResult {
  event_id: string;
  /**
   * `delivered` now, `already_delivered` by an earlier run, or `skipped`: the merchant
   * has no webhook URL (any more), so nothing is posted and nothing retried.
   */
  outcome: 'delivered' | 'already_delivered' | 'skipped';
  /** The attempt that delivered it (1 for the first), when this run did. */
  attempt: number | null;
  status_code: number | null;
}
