import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { LedgerClient } from '@clearline/platform';
import { createPaymentProcessor, PAYMENT_PROCESSOR } from '@clearline/processor';
import type { RefundEnvironment } from '../refund.env';
import { RefundJobsRepository } from './refund-jobs.repository';
import { RefundLedger } from './refund-ledger';
import { RefundProcessingService } from './refund-processing.service';
import { RefundsConsumer } from './refunds.consumer';

@Module({
  controllers: [RefundsConsumer],
  providers: [
    {
      provide: PAYMENT_PROCESSOR,
      inject: [ConfigService],
      useFactory: (config: ConfigService<RefundEnvironment, true>) =>
        createPaymentProcessor(config.get('PAYMENT_PROCESSOR', { infer: true })),
    },
    LedgerClient,
    RefundJobsRepository,
    RefundLedger,
    RefundProcessingService,
  ],
})
export class RefundsModule {}
