import { IsString, Matches } from 'class-validator';

/**
 * The task that POSTs one event to its merchant's webhook URL. Consumed by the gateway
 * itself (queue `gateway`), so its payload stays in the gateway until another service
 * needs it.
 */
export const DELIVER_WEBHOOK_TASK = 'gateway.deliver_webhook';

export class DeliverWebhookPayload {
  @IsString()
  @Matches(/^evt_[A-Za-z0-9]{1,64}$/)
  event_id!: string;
}
