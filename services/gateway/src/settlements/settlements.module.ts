import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { PayoutsController } from './payouts.controller';
import { SettlementEventsService } from './settlement-events.service';
import { SettlementRunsController } from './settlement-runs.controller';
import { SettlementRunsService } from './settlement-runs.service';
import { SettlementsConsumer } from './settlements.consumer';
import { SettlementsController } from './settlements.controller';
import { SettlementsRepository } from './settlements.repository';
import { SettlementsService } from './settlements.service';

/**
 * The gateway's side of settlement: the operators' runs (started by the settlement
 * service, `settlement.start_run`), the merchants' settlements, reports and payouts (read
 * from the settlement service's tables, never written), and the events settlement sends
 * merchants (`gateway.settlement_event`, recorded and delivered as webhooks).
 */
@Module({
  imports: [EventsModule],
  controllers: [
    SettlementRunsController,
    SettlementsController,
    PayoutsController,
    SettlementsConsumer,
  ],
  providers: [
    SettlementRunsService,
    SettlementsService,
    SettlementEventsService,
    SettlementsRepository,
  ],
})
export class SettlementsModule {}
