import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { SETTLEMENT_TASK } from '@clearline/contracts';
import { LedgerClient } from '@clearline/platform';
import { PAYOUT_RAIL, SandboxPayoutRail } from '@clearline/processor';
import { provideTaskSchedulesFrom } from '@clearline/tasks';
import type { SettlementEnvironment } from '../settlement.env';
import { MerchantSettlementService } from './merchant-settlement.service';
import { PayoutsRepository } from './payouts.repository';
import { PayoutsService } from './payouts.service';
import { SettlementConsumer } from './settlement.consumer';
import { SettlementLedger } from './settlement-ledger';
import { SettlementRepository } from './settlement.repository';
import { SettlementRunsRepository } from './settlement-runs.repository';
import { SettlementRunsService } from './settlement-runs.service';

@Module({
  controllers: [SettlementConsumer],
  providers: [
    { provide: PAYOUT_RAIL, useFactory: () => new SandboxPayoutRail() },
    LedgerClient,
    SettlementLedger,
    SettlementRepository,
    SettlementRunsRepository,
    SettlementRunsService,
    MerchantSettlementService,
    PayoutsRepository,
    PayoutsService,
    // The daily run: its cut-off is the time it starts (the slot, give or take the send).
    provideTaskSchedulesFrom(
      [ConfigService],
      (config: ConfigService<SettlementEnvironment, true>) => [
        {
          name: 'daily-settlement',
          task: SETTLEMENT_TASK.startRun,
          cron: `0 ${config.get('SETTLEMENT_HOUR', { infer: true })} * * *`,
          timezone: config.get('SETTLEMENT_TIMEZONE', { infer: true }),
          graceMs: 60 * 60 * 1_000,
        },
      ],
    ),
  ],
})
export class SettlementsModule {}
