import { Module } from '@nestjs/common';
import { pingConsumer, serviceModules } from '@clearline/platform';
import { LedgerFeatureModule } from './ledger/ledger.module';
import { LedgerEnvironment } from './ledger.env';

@Module({
  imports: [
    ...serviceModules({ service: 'ledger', environment: LedgerEnvironment }),
    LedgerFeatureModule,
  ],
  controllers: [pingConsumer('ledger')],
})
export class LedgerModule {}
