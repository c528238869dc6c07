import { Injectable } from '@nestjs/common';
import type { Page, PageRequest } from '@clearline/persistence';
import type { Payout, Settlement } from './settlement.model';
import { SettlementError } from './settlements.exception';
import { SettlementsRepository, type SettlementReport } from './settlements.repository';

/** What merchants see of settlement: their settlements, reports and payouts. */
@Injectable()
export class SettlementsService {
  constructor(private readonly settlements: SettlementsRepository) {}

  list(merchantId: string, request: PageRequest): Promise<Page<Settlement>> {
    return this.settlements.listSettlements(merchantId, request);
  }

  async retrieve(merchantId: string, id: string): Promise<Settlement> {
    const settlement = await this.settlements.findSettlement(merchantId, id);
    if (!settlement) throw SettlementError.settlementNotFound(id);
    return settlement;
  }

  /** The settlement's report (CSV lines, streamed); not found before anything is sent. */
  async report(merchantId: string, id: string): Promise<SettlementReport> {
    const report = await this.settlements.openReport(merchantId, id);
    if (!report) throw SettlementError.settlementNotFound(id);
    return report;
  }

  listPayouts(merchantId: string, request: PageRequest): Promise<Page<Payout>> {
    return this.settlements.listPayouts(merchantId, request);
  }

  async retrievePayout(merchantId: string, id: string): Promise<Payout> {
    const payout = await this.settlements.findPayout(merchantId, id);
    if (!payout) throw SettlementError.payoutNotFound(id);
    return payout;
  }
}
