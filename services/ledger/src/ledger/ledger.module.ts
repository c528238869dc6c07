import { Module } from '@nestjs/common';
import { provideTaskSchedules } from '@clearline/tasks';
import { LedgerBootstrapService } from './ledger-bootstrap.service';
import { LedgerCheckRepository } from './ledger-check.repository';
import { LedgerExpiryConsumer } from './ledger-expiry.consumer';
import { EXPIRE_PENDINGS_SCHEDULE, LedgerExpiryService } from './ledger-expiry.service';
import { LEDGER_CHECK_SCHEDULE, LedgerQueriesService } from './ledger-queries.service';
import { LedgerConsumer } from './ledger.consumer';
import { LedgerRepository } from './ledger.repository';
import { LedgerService } from './ledger.service';

@Module({
  controllers: [LedgerConsumer, LedgerExpiryConsumer],
  providers: [
    LedgerRepository,
    LedgerCheckRepository,
    LedgerService,
    LedgerQueriesService,
    LedgerExpiryService,
    LedgerBootstrapService,
    // The module carries its schedule wherever it is imported (the service, its tests).
    provideTaskSchedules([EXPIRE_PENDINGS_SCHEDULE, LEDGER_CHECK_SCHEDULE]),
  ],
  exports: [LedgerService, LedgerQueriesService, LedgerExpiryService],
})
export class LedgerFeatureModule {}
