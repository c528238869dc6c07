import { Module } from '@nestjs/common';
import { pingConsumer, serviceModules } from '@clearline/platform';
import { GatewayEnvironment } from './gateway.env';

@Module({
  imports: [...serviceModules({ service: 'gateway', environment: GatewayEnvironment })],
  controllers: [pingConsumer('gateway')],
})
export class GatewayModule {}
