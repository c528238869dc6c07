import { Module } from '@nestjs/common';
import { pingConsumer, serviceModules } from '@clearline/platform';
import { RefundEnvironment } from './refund.env';

@Module({
  imports: [...serviceModules({ service: 'refund', environment: RefundEnvironment })],
  controllers: [pingConsumer('refund')],
})
export class RefundModule {}
