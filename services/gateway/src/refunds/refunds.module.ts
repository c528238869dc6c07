import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { IdempotencyModule } from '../idempotency/idempotency.module';
import { PaymentsModule } from '../payments/payments.module';
import { RefundWaiter } from './refund-waiter';
import { RefundsConsumer } from './refunds.consumer';
import { RefundsController } from './refunds.controller';
import { RefundsRepository } from './refunds.repository';
import { RefundRequestsService } from './refund-requests.service';

/** Refunds: the REST routes, and the outcome task from the refund service (queue `gateway`). */
@Module({
  imports: [IdempotencyModule, EventsModule, PaymentsModule],
  controllers: [RefundsController, RefundsConsumer],
  providers: [RefundRequestsService, RefundsRepository, RefundWaiter],
})
export class RefundsModule {}
