import { Injectable } from '@nestjs/common';
import {
  merchantAccountId,
  platformAccountId,
  REFUND_FAILURE,
  TRANSFER_CODE,
  type TransferWire,
} from '@clearline/contracts';
import { LedgerClient, LedgerTaskFailedError, LedgerUnavailableError } from '@clearline/platform';
import type { RefundJobRow } from './refund-job.rows';
import { RefundError, RefundErrorCode } from './refund.exception';

/** The merchant account a refund is paid from. */
export type FundingAccount = 'pending' | 'available';

type LedgerStep = `hold:${FundingAccount}` | 'post' | 'void';

const applied = (results: readonly string[]): boolean =>
  results.every((result) => result === 'ok' || result === 'exists');

/** Why the ledger refused a step of a refund, as the refund's error code. */
function refusal(refundId: string, step: LedgerStep, results: readonly string[]): RefundError {
  const message = `${step} of ${refundId} refused by the ledger: ${results.join(', ')}`;
  const [result] = results;
  if (result === 'debit_account_not_found' || result === 'credit_account_not_found') {
    return new RefundError(message, RefundErrorCode.AccountsNotOpen);
  }
  if (result === 'currency_not_supported') {
    return new RefundError(message, RefundErrorCode.CurrencyNotSupported);
  }
  return new RefundError(message, RefundErrorCode.LedgerRefused);
}

/**
 * A refund's money in the ledger, two-phase: the amount is held on the merchant's side
 * (a pending transfer merchant → clearing) before the processor is asked, then posted
 * when the processor refunds, or voided when it refuses. Transfer ids derive from the
 * refund, and task ids from the refund and the step, so every step applies once however
 * often the refund task runs. Every failure is a `RefundError`.
 */
@Injectable()
export class RefundLedger {
  constructor(private readonly ledger: LedgerClient) {}

  /**
   * Holds the amount on money the merchant has not been paid yet (`pending`) if it
   * covers it, otherwise on its `available` balance. Returns where it is held; when
   * neither can cover it (the accounts' `debits_must_not_exceed_credits` flag refuses it,
   * `exceeds_credits`, and no balance ever goes negative), throws `InsufficientFunds`.
   */
  async hold(job: RefundJobRow): Promise<FundingAccount> {
    for (const account of ['pending', 'available'] as const) {
      const results = await this.apply(job.refund_id, `hold:${account}`, {
        id: `${job.refund_id}:hold`,
        debit_account_id: merchantAccountId(job.merchant_id, account, job.currency),
        credit_account_id: platformAccountId('clearing', job.currency),
        amount: job.amount,
        currency: job.currency,
        code: TRANSFER_CODE.refund,
        flags: { pending: true },
      });
      if (applied(results)) return account;
      if (results[0] !== 'exceeds_credits')
        throw refusal(job.refund_id, `hold:${account}`, results);
    }
    throw new RefundError(
      `neither the pending nor the available balance of ${job.merchant_id} covers ${job.amount} ${job.currency}`,
      RefundErrorCode.InsufficientFunds,
      REFUND_FAILURE.insufficientFunds,
    );
  }

  /** The processor refunded: the held amount leaves the merchant for good. */
  post(job: RefundJobRow): Promise<void> {
    return this.resolve(job, 'post', { post_pending: true });
  }

  /** The processor refused: the held amount goes back to the merchant. */
  release(job: RefundJobRow): Promise<void> {
    return this.resolve(job, 'void', { void_pending: true });
  }

  private async resolve(
    job: RefundJobRow,
    step: 'post' | 'void',
    flags: TransferWire['flags'],
  ): Promise<void> {
    const results = await this.apply(job.refund_id, step, {
      id: `${job.refund_id}:${step}`,
      pending_id: `${job.refund_id}:hold`,
      code: TRANSFER_CODE.refund,
      flags,
    });
    if (!applied(results)) throw refusal(job.refund_id, step, results);
  }

  /** One step, as one ledger task whose id derives from the refund and the step. */
  private async apply(
    refundId: string,
    step: LedgerStep,
    transfer: TransferWire,
  ): Promise<string[]> {
    try {
      return await this.ledger.createTransfers(`${refundId}:ledger:${step}`, [transfer]);
    } catch (error) {
      if (error instanceof LedgerUnavailableError) {
        throw new RefundError(error.message, RefundErrorCode.LedgerUnavailable);
      }
      if (error instanceof LedgerTaskFailedError) {
        throw new RefundError(error.message, RefundErrorCode.LedgerTaskFailed);
      }
      throw error;
    }
  }
}
