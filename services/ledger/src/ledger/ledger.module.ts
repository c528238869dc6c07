import { Module } from '@nestjs/common';
import { LedgerBootstrapService } from './ledger-bootstrap.service';
import { LedgerCheckRepository } from './ledger-check.repository';
import { LedgerExpiryService } from './ledger-expiry.service';
import { LedgerQueriesService } from './ledger-queries.service';
import { LedgerConsumer } from './ledger.consumer';
import { LedgerRepository } from './ledger.repository';
import { LedgerService } from './ledger.service';

@Module({
  controllers: [LedgerConsumer],
  providers: [
    LedgerRepository,
    LedgerCheckRepository,
    LedgerService,
    LedgerQueriesService,
    LedgerExpiryService,
    LedgerBootstrapService,
  ],
  exports: [LedgerService, LedgerQueriesService, LedgerExpiryService],
})
export class LedgerFeatureModule {}
