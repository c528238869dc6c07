import { Module } from '@nestjs/common';
import { pingConsumer, serviceModules } from '@clearline/platform';
import { RefundsModule } from './refunds/refunds.module';
import { RefundEnvironment } from './refund.env';

@Module({
  imports: [
    ...serviceModules({ service: 'refund', environment: RefundEnvironment }),
    RefundsModule,
  ],
  controllers: [pingConsumer('refund')],
})
export class RefundModule {}
