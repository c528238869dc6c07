import { Injectable } from '@nestjs/common';
import {
  merchantAccountId,
  platformAccountId,
  TRANSFER_CODE,
  type TransferWire,
} from '@clearline/contracts';
import { LedgerClient } from '@clearline/platform';
import type { PaymentRow } from './payment.rows';

/**
 * The merchant's accounts are not open yet (`ledger.open_merchant` is still on its way
 * for a brand-new merchant): nothing was applied, and a retry will likely succeed.
 */
export class LedgerNotReadyError extends Error {
  override readonly name = 'LedgerNotReadyError';
}

/** The ledger refused the transfers for good; nothing was applied. */
export class LedgerRefusedError extends Error {
  override readonly name = 'LedgerRefusedError';
}

type LedgerStep = 'authorize' | 'capture' | 'void';

/** Transfer ids are derived from the payment: the ledger applies each one at most once. */
export const transferIds = (paymentId: string) => ({
  authorization: `${paymentId}:auth`,
  capture: `${paymentId}:capture`,
  void: `${paymentId}:void`,
});

/**
 * A payment's money in the ledger. Each step is one `ledger.create_transfers` task with
 * an id derived from the payment, the step and the attempt: a redelivered payment task
 * reads the stored result back instead of sending again, and a retry (a new attempt)
 * sends a fresh task, because the ledger stores a refusal (accounts not open yet) under
 * the task id. Double application is impossible either way: the transfer ids are fixed,
 * and a transfer that exists answers `exists`.
 */
@Injectable()
export class PaymentLedger {
  constructor(private readonly ledger: LedgerClient) {}

  /** The pending authorization, and for automatic capture its posting, linked: both or neither. */
  authorize(payment: PaymentRow, capture: boolean, attempt: number): Promise<void> {
    const ids = transferIds(payment.id);
    const authorization: TransferWire = {
      id: ids.authorization,
      debit_account_id: platformAccountId('clearing', payment.currency),
      credit_account_id: merchantAccountId(payment.merchant_id, 'pending', payment.currency),
      amount: payment.amount,
      currency: payment.currency,
      code: TRANSFER_CODE.authorization,
      flags: { pending: true, linked: capture },
    };
    const transfers = capture
      ? [authorization, this.post(payment.id, BigInt(payment.amount))]
      : [authorization];
    return this.apply(payment.id, 'authorize', attempt, transfers);
  }

  /** Posts `amount` of the authorization; the ledger releases the rest. */
  capture(payment: PaymentRow, amount: bigint, attempt: number): Promise<void> {
    return this.apply(payment.id, 'capture', attempt, [this.post(payment.id, amount)]);
  }

  /** Voids the authorization: the whole amount is released. */
  void(payment: PaymentRow, attempt: number): Promise<void> {
    const ids = transferIds(payment.id);
    return this.apply(payment.id, 'void', attempt, [
      {
        id: ids.void,
        pending_id: ids.authorization,
        code: TRANSFER_CODE.void,
        flags: { void_pending: true },
      },
    ]);
  }

  private post(paymentId: string, amount: bigint): TransferWire {
    const ids = transferIds(paymentId);
    return {
      id: ids.capture,
      pending_id: ids.authorization,
      amount: amount.toString(),
      code: TRANSFER_CODE.capture,
      flags: { post_pending: true },
    };
  }

  private async apply(
    paymentId: string,
    step: LedgerStep,
    attempt: number,
    transfers: TransferWire[],
  ): Promise<void> {
    // LedgerUnavailableError (no answer in time) goes on: the transfers may still be
    // applied, so the payment task retries. LedgerTaskFailedError (nothing applied, and
    // the failure is stored under the task id) dead-letters the payment task.
    const results = await this.ledger.createTransfers(
      `${paymentId}:ledger:${step}:${attempt}`,
      transfers,
    );
    if (results.every((result) => result === 'ok' || result === 'exists')) return;
    const summary = `ledger ${step} of ${paymentId} refused: ${results.join(', ')}`;
    if (results.some((result) => result.endsWith('_account_not_found'))) {
      throw new LedgerNotReadyError(summary);
    }
    throw new LedgerRefusedError(summary);
  }
}
