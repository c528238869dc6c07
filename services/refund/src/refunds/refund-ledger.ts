import { Injectable } from '@nestjs/common';
import {
  merchantAccountId,
  platformAccountId,
  TRANSFER_CODE,
  type TransferWire,
} from '@clearline/contracts';
import { LedgerClient } from '@clearline/platform';
import type { RefundJobRow } from './refund-job.rows';

/** The merchant account a refund is paid from. */
export type FundingAccount = 'pending' | 'available';

/** The ledger refused a step it must accept (a bug or a corrupted job): never retried. */
export class RefundLedgerError extends Error {
  override readonly name = 'RefundLedgerError';
}

const applied = (results: readonly string[]): boolean =>
  results.every((result) => result === 'ok' || result === 'exists');

/**
 * A refund's money in the ledger, two-phase: the amount is held on the merchant's side
 * (a pending transfer merchant → clearing) before the processor is asked, then posted
 * when the processor refunds, or voided when it refuses. Transfer ids derive from the
 * refund, and task ids from the refund and the step, so every step applies once however
 * often the refund task runs.
 */
@Injectable()
export class RefundLedger {
  constructor(private readonly ledger: LedgerClient) {}

  /**
   * Holds the amount on money the merchant has not been paid yet (`pending`) if it
   * covers it, otherwise on its `available` balance. Returns where it is held, or null
   * when neither can cover it: the accounts' `debits_must_not_exceed_credits` flag
   * refuses it (`exceeds_credits`), and no balance ever goes negative.
   */
  async hold(job: RefundJobRow): Promise<FundingAccount | null> {
    for (const account of ['pending', 'available'] as const) {
      const results = await this.ledger.createTransfers(`${job.refund_id}:ledger:hold:${account}`, [
        {
          id: `${job.refund_id}:hold`,
          debit_account_id: merchantAccountId(job.merchant_id, account, job.currency),
          credit_account_id: platformAccountId('clearing', job.currency),
          amount: job.amount,
          currency: job.currency,
          code: TRANSFER_CODE.refund,
          flags: { pending: true },
        },
      ]);
      if (applied(results)) return account;
      if (results[0] !== 'exceeds_credits') {
        throw new RefundLedgerError(`hold of ${job.refund_id} refused: ${results.join(', ')}`);
      }
    }
    return null;
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
    const results = await this.ledger.createTransfers(`${job.refund_id}:ledger:${step}`, [
      {
        id: `${job.refund_id}:${step}`,
        pending_id: `${job.refund_id}:hold`,
        code: TRANSFER_CODE.refund,
        flags,
      },
    ]);
    if (!applied(results)) {
      throw new RefundLedgerError(`${step} of ${job.refund_id} refused: ${results.join(', ')}`);
    }
  }
}
