import { Module } from '@nestjs/common';
import { pingConsumer, serviceModules } from '@clearline/platform';
import { SettlementEnvironment } from './settlement.env';
import { SETTLEMENT_MIGRATION_SET } from './migrations';

@Module({
  imports: [
    ...serviceModules({
      service: 'settlement',
      environment: SettlementEnvironment,
      migrations: [SETTLEMENT_MIGRATION_SET],
    }),
  ],
  controllers: [pingConsumer('settlement')],
})
export class SettlementModule {}
