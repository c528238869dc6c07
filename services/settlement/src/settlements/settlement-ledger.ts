import { Injectable } from '@nestjs/common';
import {
  merchantAccountId,
  platformAccountId,
  TRANSFER_CODE,
  type TransferWire,
} from '@clearline/contracts';
import { LedgerClient, LedgerTaskFailedError, LedgerUnavailableError } from '@clearline/platform';
import { SettlementError, SettlementErrorCode } from './settlement.exception';

const APPLIED = new Set(['ok', 'exists']);

/** A settlement's postings, as the ledger applies them. */
export interface SettlementPostingOrder {
  settlementId: string;
  currency: string;
  feesCollected: bigint;
  toAvailable: bigint;
}

/**
 * Settlement's money in the ledger. Task and transfer ids derive from the settlement (and
 * the claim's attempt), so a retried or redelivered task reads the stored answer back and a
 * transfer is applied at most once.
 */
@Injectable()
export class SettlementLedger {
  constructor(private readonly ledger: LedgerClient) {}

  /**
   * One linked chain for the merchant's settlements of a run: fees from pending to the
   * platform's fee account, the rest from pending to available. All or nothing.
   */
  async post(
    merchantId: string,
    key: string,
    orders: readonly SettlementPostingOrder[],
  ): Promise<void> {
    const transfers: TransferWire[] = [];
    for (const order of orders) {
      const pending = merchantAccountId(merchantId, 'pending', order.currency);
      if (order.feesCollected > 0n) {
        transfers.push({
          id: `${order.settlementId}:${key}:fee`,
          debit_account_id: pending,
          credit_account_id: platformAccountId('fees', order.currency),
          amount: order.feesCollected.toString(),
          currency: order.currency.toUpperCase(),
          code: TRANSFER_CODE.fee,
          flags: { linked: true },
        });
      }
      if (order.toAvailable > 0n) {
        transfers.push({
          id: `${order.settlementId}:${key}:net`,
          debit_account_id: pending,
          credit_account_id: merchantAccountId(merchantId, 'available', order.currency),
          amount: order.toAvailable.toString(),
          currency: order.currency.toUpperCase(),
          code: TRANSFER_CODE.settlement,
          flags: { linked: true },
        });
      }
    }
    const last = transfers.at(-1);
    if (last === undefined) return;
    last.flags = {};
    await this.apply(`${orders[0]?.settlementId ?? merchantId}:ledger:${key}`, transfers);
  }

  /** Holds a payout on the merchant's available balance (two-phase: posted once paid). */
  hold(payout: PayoutMoney): Promise<void> {
    return this.apply(`${payout.id}:ledger:hold`, [
      {
        id: `${payout.id}:hold`,
        debit_account_id: merchantAccountId(payout.merchantId, 'available', payout.currency),
        credit_account_id: merchantAccountId(payout.merchantId, 'payouts', payout.currency),
        amount: payout.amount.toString(),
        currency: payout.currency.toUpperCase(),
        code: TRANSFER_CODE.payout,
        flags: { pending: true },
      },
    ]);
  }

  /** The rail paid: the held amount leaves available for good. */
  postHold(payoutId: string): Promise<void> {
    return this.resolve(payoutId, 'post', { post_pending: true });
  }

  /** The rail failed: the held amount is available again. */
  voidHold(payoutId: string): Promise<void> {
    return this.resolve(payoutId, 'void', { void_pending: true });
  }

  private resolve(payoutId: string, step: string, flags: TransferWire['flags']): Promise<void> {
    return this.apply(`${payoutId}:ledger:${step}`, [
      {
        id: `${payoutId}:${step}`,
        pending_id: `${payoutId}:hold`,
        code: TRANSFER_CODE.payout,
        flags,
      },
    ]);
  }

  private async apply(taskId: string, transfers: TransferWire[]): Promise<void> {
    let results: string[];
    try {
      results = await this.ledger.createTransfers(taskId, transfers, { lane: 'batch' });
    } catch (error) {
      if (error instanceof LedgerUnavailableError) {
        throw new SettlementError(error.message, SettlementErrorCode.LedgerUnavailable);
      }
      if (error instanceof LedgerTaskFailedError) {
        throw new SettlementError(error.message, SettlementErrorCode.LedgerTaskFailed);
      }
      throw error;
    }
    const refused = results.find((result) => !APPLIED.has(result));
    if (refused !== undefined) {
      throw new SettlementError(
        `ledger task ${taskId} refused: ${results.join(', ')}`,
        SettlementErrorCode.LedgerRefused,
      );
    }
  }
}

export interface PayoutMoney {
  id: string;
  merchantId: string;
  amount: bigint;
  currency: string;
}
