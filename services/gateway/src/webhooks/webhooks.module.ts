import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { MerchantsModule } from '../merchants/merchants.module';
import { WebhooksConsumer } from './webhooks.consumer';
import { WebhooksService } from './webhooks.service';

@Module({
  imports: [EventsModule, MerchantsModule],
  controllers: [WebhooksConsumer],
  providers: [WebhooksService],
})
export class WebhooksModule {}
