import { Module } from '@nestjs/common';
import { pingConsumer, serviceModules } from '@clearline/platform';
import { RefundsModule } from './refunds/refunds.module';
import { RefundEnvironment } from './refund.env';
import { REFUND_MIGRATION_SET } from './migrations';

@Module({
  imports: [
    ...serviceModules({
      service: 'refund',
      environment: RefundEnvironment,
      migrations: [REFUND_MIGRATION_SET],
    }),
    RefundsModule,
  ],
  controllers: [pingConsumer('refund')],
})
export class RefundModule {}
