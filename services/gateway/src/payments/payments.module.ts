import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { LedgerClient } from '@clearline/platform';
import { createPaymentProcessor, PAYMENT_PROCESSOR } from '@clearline/processor';
import { EventsModule } from '../events/events.module';
import type { GatewayEnvironment } from '../gateway.env';
import { IdempotencyModule } from '../idempotency/idempotency.module';
import { PaymentLedger } from './payment-ledger';
import { PaymentProcessingService } from './payment-processing.service';
import { InPlaceAuthorizations } from './in-place-authorizations';
import { PaymentWaiter } from './payment-waiter';
import { PaymentWritesRepository } from './payment-writes.repository';
import { PaymentsConsumer } from './payments.consumer';
import { PaymentsController } from './payments.controller';
import { PaymentsRepository } from './payments.repository';
import { PaymentsService } from './payments.service';

/** Payments: the REST routes, and the tasks that carry them out (queue `gateway`). */
@Module({
  imports: [IdempotencyModule, EventsModule],
  controllers: [PaymentsController, PaymentsConsumer],
  providers: [
    {
      provide: PAYMENT_PROCESSOR,
      inject: [ConfigService],
      useFactory: (config: ConfigService<GatewayEnvironment, true>) =>
        createPaymentProcessor(config.get('PAYMENT_PROCESSOR', { infer: true })),
    },
    PaymentsService,
    PaymentProcessingService,
    PaymentsRepository,
    PaymentWritesRepository,
    PaymentLedger,
    LedgerClient,
    PaymentWaiter,
    InPlaceAuthorizations,
  ],
  exports: [PaymentsRepository],
})
export class PaymentsModule {}
