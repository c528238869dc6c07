import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { Task, TaskContext } from '@clearline/tasks';
import { toDeliveryResult } from './delivery.mapper';
import { WEBHOOK_RETRY } from './webhook-retry';
import { DELIVER_WEBHOOK_TASK, DeliverWebhookPayload, type DeliveryResult } from './webhook.task';
import { WebhooksService } from './webhooks.service';

@Controller()
export class WebhooksConsumer {
  constructor(private readonly webhooks: WebhooksService) {}

  /**
   * Not transactional: each attempt is recorded even when it fails and the task retries.
   * A delivery over its merchant's in-flight limit is deferred (`ctx.defer`): sent round
   * again later without spending one of its retries and without holding a handler slot.
   */
  @Task(DELIVER_WEBHOOK_TASK, { senders: [], payload: DeliverWebhookPayload, ...WEBHOOK_RETRY })
  async deliver(
    @Payload() payload: DeliverWebhookPayload,
    @Ctx() ctx: TaskContext,
  ): Promise<DeliveryResult> {
    const delivery = await this.webhooks.deliver(payload.event_id);
    if (delivery.outcome === 'deferred') ctx.defer({ countdownMs: delivery.countdownMs });
    return toDeliveryResult(delivery);
  }
}
