import { Module } from '@nestjs/common';
import { pingConsumer, serviceModules } from '@clearline/platform';
import { LedgerEnvironment } from './ledger.env';

@Module({
  imports: [...serviceModules({ service: 'ledger', environment: LedgerEnvironment })],
  controllers: [pingConsumer('ledger')],
})
export class LedgerModule {}
