import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Task } from '@clearline/tasks';
import { WEBHOOK_RETRY } from './webhook-retry';
import { DELIVER_WEBHOOK_TASK, DeliverWebhookPayload } from './webhook.task';
import { WebhooksService, type DeliveryResult } from './webhooks.service';

@Controller()
export class WebhooksConsumer {
  constructor(private readonly webhooks: WebhooksService) {}

  /** Not transactional: each attempt is recorded even when it fails and the task retries. */
  @Task(DELIVER_WEBHOOK_TASK, { payload: DeliverWebhookPayload, ...WEBHOOK_RETRY })
  deliver(@Payload() payload: DeliverWebhookPayload): Promise<DeliveryResult> {
    return this.webhooks.deliver(payload.event_id);
  }
}
