import { Module } from '@nestjs/common';
import { pingConsumer, serviceModules } from '@clearline/platform';
import { SettlementEnvironment } from './settlement.env';

@Module({
  imports: [...serviceModules({ service: 'settlement', environment: SettlementEnvironment })],
  controllers: [pingConsumer('settlement')],
})
export class SettlementModule {}
