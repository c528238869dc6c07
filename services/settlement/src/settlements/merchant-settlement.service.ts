import { Injectable, Logger } from '@nestjs/common';
import {
  merchantAccountId,
  newId,
  SETTLEMENT_TASK,
  settlementEventTaskId,
  type SettleMerchantResult,
} from '@clearline/contracts';
import { settlementPostings, settlementTotalsOfSums, type Pricing } from '@clearline/ledger-core';
import { enqueueTasks, type OutboxTask, type TaskContext } from '@clearline/tasks';
import type { EntityManager } from 'typeorm';
import type { SettlementRow } from './settlement.rows';
import { SettlementLedger, type SettlementPostingOrder } from './settlement-ledger';
import { SettlementRepository, type NewSettlement } from './settlement.repository';
import {
  SettlementError,
  SettlementErrorCode,
  settlementTaskOutcome,
} from './settlement.exception';

/**
 * The most postings one merchant's settlement takes in a run. A merchant with more waits
 * for the next run for the rest (oldest first), so one task's memory stays bounded.
 */
export const SETTLEMENT_ITEMS_MAX = 500_000;

/** A claim: the merchant's settlements of the run, written, not yet posted. */
interface Claim {
  attempt: number;
  postings: SettlementPostingOrder[];
}

/**
 * Settles one merchant of a run, in three steps that each survive a crash:
 *
 * 1. **Claim** (one transaction, the merchant's advisory lock held): its unsettled
 *    postings up to the cut-off become the items of one settlement per currency (status
 *    `posting`), with fees per payment, totals and postings computed by ledger-core, and
 *    the fee debt updated. An item is a ledger transfer id (primary key), so no posting is
 *    ever settled twice, whatever runs overlap. A claim found from an earlier delivery is
 *    resumed as it is.
 * 2. **Post**: one linked chain in the ledger moves fees and net out of pending (ids from
 *    the settlements: a repeat answers `exists`). Refused (pending cannot cover it yet:
 *    a refund posted after the cut-off drew on it) → the claim is undone, nothing moved,
 *    the merchant fails for this run and a rerun settles it. No answer → retried; still
 *    none → the merchant fails with its claim kept, and a rerun resumes it.
 * 3. **Close** (one transaction): settlements `settled`, a payout of the available balance
 *    per currency, the payout tasks and the `settlement.completed` events in the outbox.
 */
@Injectable()
export class MerchantSettlementService {
  private readonly logger = new Logger(MerchantSettlementService.name);

  constructor(
    private readonly repository: SettlementRepository,
    private readonly ledger: SettlementLedger,
  ) {}

  async settle(
    runId: string,
    merchantId: string,
    context: Pick<TaskContext, 'willRetry'>,
  ): Promise<SettleMerchantResult> {
    try {
      const claim = await this.claim(runId, merchantId);
      if (claim === 'settled') return await this.result(merchantId, 'settled', runId);
      await this.ledger.post(merchantId, `a${claim.attempt}`, claim.postings);
      return await this.close(runId, merchantId);
    } catch (error) {
      return this.failure(runId, merchantId, error, context);
    }
  }

  private async claim(runId: string, merchantId: string): Promise<Claim | 'settled'> {
    return this.repository.transaction(async (manager) => {
      await this.repository.lockMerchant(manager, merchantId);
      const member = await this.repository.runMerchant(manager, runId, merchantId);
      if (member === undefined) {
        throw new SettlementError(
          `${merchantId} is not a merchant of run ${runId}`,
          SettlementErrorCode.NotFound,
        );
      }
      if (member.status === 'settled') return 'settled';
      const existing = await this.repository.settlementsOf(manager, runId, merchantId);
      if (existing.some((s) => s.status === 'settled')) return 'settled';
      // An earlier delivery's claim is resumed with its own attempt (its ledger ids).
      if (existing.length > 0) {
        return {
          attempt: existing[0]?.attempt ?? member.attempt,
          postings: existing.map(postingOf),
        };
      }
      const settlements = await this.compute(manager, merchantId, member.cut_off);
      await this.repository.insertSettlements(
        manager,
        { runId, merchantId, attempt: member.attempt },
        settlements,
      );
      return { attempt: member.attempt, postings: settlements.map((s) => postingOf(s)) };
    });
  }

  /**
   * The merchant's settlements per currency: its unsettled postings claimed as their
   * items (with fees), and their totals with the fee debts carried in.
   */
  private async compute(
    manager: EntityManager,
    merchantId: string,
    cutOff: Date,
  ): Promise<NewSettlement[]> {
    const accounts = await this.repository.movedAccounts(manager, merchantId);
    const settlementIds = new Map(
      [...new Set(accounts.map((account) => account.currency))].map((currency) => [
        currency,
        newId('stl'),
      ]),
    );
    const pricing = await this.pricingOf(manager, merchantId);
    const claimed = await this.repository.claimItems(manager, {
      merchantId,
      accounts,
      cutOff,
      limit: SETTLEMENT_ITEMS_MAX,
      pricing,
      settlementIds,
    });
    const count = claimed.reduce((sum, settlement) => sum + settlement.count, 0);
    if (count === SETTLEMENT_ITEMS_MAX) {
      this.logger.warn(
        `${merchantId}: ${SETTLEMENT_ITEMS_MAX} postings settled in this run, the rest in the next`,
      );
    }
    if (count === 0) return [];
    const debts = await this.repository.feeDebts(manager, merchantId);
    const debtsUpper = new Map(
      [...debts].map(([currency, owed]) => [currency.toUpperCase(), owed]),
    );
    const bySum = new Map(claimed.map((sum) => [sum.currency, sum]));
    // A currency owing fees with nothing to settle keeps its debt for a settlement that has.
    return settlementTotalsOfSums(claimed, debtsUpper)
      .filter((totals) => totals.count > 0)
      .map((totals) => {
        const sum = bySum.get(totals.currency);
        if (sum === undefined) throw new Error(`no claimed items in ${totals.currency}`);
        const postings = settlementPostings({
          gross: totals.gross,
          refundsFromPending: sum.refundsFromPending,
          fees: totals.fees,
          feesOwedIn: totals.carriedIn,
        });
        return {
          id: sum.settlementId,
          currency: totals.currency.toLowerCase(),
          count: totals.count,
          gross: totals.gross,
          refunds: totals.refunds,
          fees: totals.fees,
          net: totals.net,
          feesOwedIn: totals.carriedIn,
          ...postings,
        };
      });
  }

  private async pricingOf(manager: EntityManager, merchantId: string): Promise<Pricing> {
    const row = await this.repository.pricing(manager, merchantId);
    if (row === undefined) {
      throw new SettlementError(
        `merchant ${merchantId} does not exist`,
        SettlementErrorCode.NotFound,
      );
    }
    return { percentBps: row.pricing_percent_bps, fixed: BigInt(row.pricing_fixed) };
  }

  /** Settlements settled, payouts created, their tasks and events queued: one transaction. */
  private async close(runId: string, merchantId: string): Promise<SettleMerchantResult> {
    return this.repository.transaction(async (manager) => {
      await this.repository.lockMerchant(manager, merchantId);
      const tasks: OutboxTask[] = [];
      const settlements = await this.repository.settlementsOf(manager, runId, merchantId);
      for (const s of settlements) {
        if (s.status === 'settled') continue;
        const available = await this.repository.availableBalance(
          manager,
          merchantAccountId(merchantId, 'available', s.currency),
        );
        const payoutId = available > 0n ? newId('po') : null;
        if (payoutId !== null) {
          await this.repository.insertPayout(manager, {
            id: payoutId,
            merchantId,
            currency: s.currency,
            amount: available,
            settlementId: s.id,
          });
          tasks.push({
            task: SETTLEMENT_TASK.payPayout,
            payload: { payout_id: payoutId },
            options: { id: `${payoutId}:pay` },
          });
        }
        await this.repository.markSettled(manager, s.id, payoutId);
        tasks.push({
          task: SETTLEMENT_TASK.event,
          payload: { type: 'settlement.completed', merchant_id: merchantId, object_id: s.id },
          options: { id: settlementEventTaskId('settlement.completed', s.id) },
        });
      }
      await this.repository.merchantSettled(manager, runId, merchantId);
      await enqueueTasks(manager, tasks);
      return {
        merchant_id: merchantId,
        status: 'settled' as const,
        settlements: settlements.map((s) => s.id),
      };
    });
  }

  private async failure(
    runId: string,
    merchantId: string,
    error: unknown,
    context: Pick<TaskContext, 'willRetry'>,
  ): Promise<SettleMerchantResult> {
    if (context.willRetry(error)) throw error;
    if (!(error instanceof SettlementError)) throw error;
    const outcome = settlementTaskOutcome(error.code);
    if (outcome === 'dead-letter') throw error;
    const failure = { code: error.code, message: error.message };
    await this.repository.transaction(async (manager) => {
      await this.repository.lockMerchant(manager, merchantId);
      // A refusal moved nothing: the claim is undone. An unknown outcome keeps it, to resume.
      if (error.code === SettlementErrorCode.LedgerRefused) {
        await this.repository.undoClaim(manager, runId, merchantId, failure);
      } else {
        await this.repository.failMerchant(manager, runId, merchantId, failure);
      }
    });
    this.logger.warn(`run ${runId}: ${merchantId} not settled: ${error.message}`);
    return { merchant_id: merchantId, status: 'failed', settlements: [], failure_code: error.code };
  }

  private async result(
    merchantId: string,
    status: 'settled',
    runId: string,
  ): Promise<SettleMerchantResult> {
    const settlements = await this.repository.transaction((manager) =>
      this.repository.settlementsOf(manager, runId, merchantId),
    );
    return { merchant_id: merchantId, status, settlements: settlements.map((s) => s.id) };
  }
}

/** What the ledger must move for one settlement, from its row or as just computed. */
function postingOf(settlement: SettlementRow | NewSettlement): SettlementPostingOrder {
  return 'fees_collected' in settlement
    ? {
        settlementId: settlement.id,
        currency: settlement.currency,
        feesCollected: BigInt(settlement.fees_collected),
        toAvailable: BigInt(settlement.to_available),
      }
    : {
        settlementId: settlement.id,
        currency: settlement.currency,
        feesCollected: settlement.feesCollected,
        toAvailable: settlement.toAvailable,
      };
}
