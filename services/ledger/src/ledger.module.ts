import { Module } from '@nestjs/common';
import { pingConsumer, serviceModules } from '@clearline/platform';
import { LedgerFeatureModule } from './ledger/ledger.module';
import { LedgerEnvironment } from './ledger.env';
import { LEDGER_MIGRATION_SET } from './migrations';

@Module({
  imports: [
    ...serviceModules({
      service: 'ledger',
      environment: LedgerEnvironment,
      migrations: [LEDGER_MIGRATION_SET],
    }),
    LedgerFeatureModule,
  ],
  controllers: [pingConsumer('ledger')],
})
export class LedgerModule {}
