import { Module } from '@nestjs/common';
import { BalanceController } from './balance.controller';
import { BalanceService } from './balance.service';

/** `GET /v1/balance`, answered by the ledger (`ledger.balances`; TaskClient is global). */
@Module({
  controllers: [BalanceController],
  providers: [BalanceService],
})
export class BalanceModule {}
