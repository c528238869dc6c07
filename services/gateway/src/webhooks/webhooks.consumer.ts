import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Task } from '@clearline/tasks';
import { toDeliveryResult } from './delivery.mapper';
import { WEBHOOK_RETRY } from './webhook-retry';
import { DELIVER_WEBHOOK_TASK, DeliverWebhookPayload, type DeliveryResult } from './webhook.task';
import { WebhooksService } from './webhooks.service';

@Controller()
export class WebhooksConsumer {
  constructor(private readonly webhooks: WebhooksService) {}

  /** Not transactional: each attempt is recorded even when it fails and the task retries. */
  @Task(DELIVER_WEBHOOK_TASK, { payload: DeliverWebhookPayload, ...WEBHOOK_RETRY })
  async deliver(@Payload() payload: DeliverWebhookPayload): Promise<DeliveryResult> {
    return toDeliveryResult(await this.webhooks.deliver(payload.event_id));
  }
}
