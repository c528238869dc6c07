import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  PAYOUT_RAIL,
  PayoutRailUnavailableError,
  type PayoutOutcome,
  type PayoutRail,
} from '@clearline/processor';
import { PayoutsRepository } from './payouts.repository';
import { SettlementLedger } from './settlement-ledger';
import { SettlementError, SettlementErrorCode } from './settlement.exception';

/**
 * Pays a payout: the amount is held on the merchant's available balance (so a refund can
 * no longer spend it), the rail is asked with the payout's id as its idempotency key, then
 * the hold is posted (paid) or voided (failed: the money is available again). Every step
 * is keyed by the payout, so a retried or redelivered task repeats nothing.
 */
@Injectable()
export class PayoutsService {
  private readonly logger = new Logger(PayoutsService.name);

  constructor(
    private readonly payouts: PayoutsRepository,
    private readonly ledger: SettlementLedger,
    @Inject(PAYOUT_RAIL) private readonly rail: PayoutRail,
  ) {}

  async pay(payoutId: string): Promise<{ payout_id: string; status: string }> {
    const payout = await this.payouts.find(payoutId);
    if (payout === undefined) {
      throw new SettlementError(`payout ${payoutId} does not exist`, SettlementErrorCode.NotFound);
    }
    if (payout.status !== 'pending') return { payout_id: payoutId, status: payout.status };
    const money = {
      id: payout.id,
      merchantId: payout.merchant_id,
      amount: BigInt(payout.amount),
      currency: payout.currency,
    };
    try {
      await this.ledger.hold(money);
    } catch (error) {
      // The balance was spent (a refund) between the settlement and the hold.
      if (error instanceof SettlementError && error.code === SettlementErrorCode.LedgerRefused) {
        await this.payouts.end(payout, { status: 'failed', reason: 'insufficient_funds' });
        return { payout_id: payoutId, status: 'failed' };
      }
      throw error;
    }
    const outcome = await this.askRail(money);
    if (outcome.status === 'paid') {
      await this.ledger.postHold(payout.id);
      await this.payouts.end(payout, { status: 'paid' });
    } else {
      await this.ledger.voidHold(payout.id);
      await this.payouts.end(payout, { status: 'failed', reason: outcome.reason });
      this.logger.warn(`payout ${payout.id} failed: ${outcome.reason}`);
    }
    return { payout_id: payoutId, status: outcome.status };
  }

  private async askRail(money: {
    id: string;
    merchantId: string;
    amount: bigint;
    currency: string;
  }): Promise<PayoutOutcome> {
    try {
      return await this.rail.pay(money);
    } catch (error) {
      if (error instanceof PayoutRailUnavailableError) {
        throw new SettlementError(error.message, SettlementErrorCode.RailUnavailable);
      }
      throw error;
    }
  }
}
