import { Module } from '@nestjs/common';
import { pingConsumer, serviceModules } from '@clearline/platform';
import { SettlementEnvironment } from './settlement.env';
import { SETTLEMENT_MIGRATION_SET } from './migrations';
import { SettlementsModule } from './settlements/settlements.module';

@Module({
  imports: [
    ...serviceModules({
      service: 'settlement',
      environment: SettlementEnvironment,
      migrations: [SETTLEMENT_MIGRATION_SET],
    }),
    SettlementsModule,
  ],
  controllers: [pingConsumer('settlement')],
})
export class SettlementModule {}
