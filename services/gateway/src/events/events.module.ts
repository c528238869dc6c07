import { Module } from '@nestjs/common';
import { EventsController } from './events.controller';
import { EventsRepository } from './events.repository';
import { EventsService } from './events.service';
import { WebhookAttemptsRepository } from './webhook-attempts.repository';

@Module({
  controllers: [EventsController],
  providers: [EventsService, EventsRepository, WebhookAttemptsRepository],
  exports: [EventsService, EventsRepository, WebhookAttemptsRepository],
})
export class EventsModule {}
