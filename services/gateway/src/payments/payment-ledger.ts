import { Injectable } from '@nestjs/common';
import {
  merchantAccountId,
  platformAccountId,
  TRANSFER_CODE,
  type TransferWire,
} from '@clearline/contracts';
import { LedgerClient, LedgerTaskFailedError, LedgerUnavailableError } from '@clearline/platform';
import type { Payment } from './payment.model';
import { PaymentError, PaymentErrorCode } from './payments.exception';

type LedgerStep = 'authorize' | 'capture' | 'void';

/** Which try of a payment task a ledger step belongs to: its retry count and resume round. */
export interface LedgerAttempt {
  attempt: number;
  round: number;
}

/**
 * `pay_…:ledger:<step>:<attempt>` for the operation's first task, and
 * `pay_…:ledger:<step>:resume:<round>:<attempt>` for a resumed one, so a resumed task
 * never reads back a stored answer of an earlier round.
 */
function stepTaskId(paymentId: string, step: LedgerStep, at: LedgerAttempt): string {
  const round = at.round === 0 ? '' : `resume:${at.round}:`;
  return `${paymentId}:ledger:${step}:${round}${at.attempt}`;
}

/** Transfer ids are derived from the payment: the ledger applies each one at most once. */
const transferIds = (paymentId: string) => ({
  authorization: `${paymentId}:auth`,
  capture: `${paymentId}:capture`,
  void: `${paymentId}:void`,
});

/**
 * A payment's money in the ledger. Each step is one `ledger.create_transfers` task with
 * an id derived from the payment, the step and the attempt (`stepTaskId`): a redelivered payment task
 * reads the stored result back instead of sending again, and a retry (a new attempt)
 * sends a fresh task, because the ledger stores a refusal (accounts not open yet) under
 * the task id. Double application is impossible either way: the transfer ids are fixed,
 * and a transfer that exists answers `exists`. What goes wrong is a `PaymentError`:
 * `ledger_unavailable`, `ledger_task_failed`, `ledger_not_ready` or `ledger_refused`.
 */
@Injectable()
export class PaymentLedger {
  constructor(private readonly ledger: LedgerClient) {}

  /** The pending authorization, and for automatic capture its posting, linked: both or neither. */
  authorize(payment: Payment, capture: boolean, at: LedgerAttempt): Promise<void> {
    const ids = transferIds(payment.id);
    const authorization: TransferWire = {
      id: ids.authorization,
      debit_account_id: platformAccountId('clearing', payment.currency),
      credit_account_id: merchantAccountId(payment.merchantId, 'pending', payment.currency),
      amount: payment.amount.toString(),
      currency: payment.currency,
      code: TRANSFER_CODE.authorization,
      flags: { pending: true, linked: capture },
    };
    const transfers = capture
      ? [authorization, this.post(payment.id, payment.amount)]
      : [authorization];
    return this.apply(payment.id, 'authorize', at, transfers);
  }

  /** Posts `amount` of the authorization; the ledger releases the rest. */
  capture(payment: Payment, amount: bigint, at: LedgerAttempt): Promise<void> {
    return this.apply(payment.id, 'capture', at, [this.post(payment.id, amount)]);
  }

  /** Voids the authorization: the whole amount is released. */
  void(payment: Payment, at: LedgerAttempt): Promise<void> {
    const ids = transferIds(payment.id);
    return this.apply(payment.id, 'void', at, [
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
    at: LedgerAttempt,
    transfers: TransferWire[],
  ): Promise<void> {
    const results = await this.createTransfers(stepTaskId(paymentId, step, at), transfers);
    if (results.every((result) => result === 'ok' || result === 'exists')) return;
    const summary = `ledger ${step} of ${paymentId} refused: ${results.join(', ')}`;
    const notReady = results.some((result) => result.endsWith('_account_not_found'));
    throw new PaymentError(
      summary,
      notReady ? PaymentErrorCode.LedgerNotReady : PaymentErrorCode.LedgerRefused,
    );
  }

  /**
   * The ledger's results. No answer in time is `ledger_unavailable` (the transfers may
   * still be applied: retry); a ledger task that failed is `ledger_task_failed` (nothing
   * applied, and the failure is stored under the task id, so asking again reads it again).
   */
  private async createTransfers(taskId: string, transfers: TransferWire[]): Promise<string[]> {
    try {
      return await this.ledger.createTransfers(taskId, transfers);
    } catch (error) {
      if (error instanceof LedgerUnavailableError) {
        throw new PaymentError(error.message, PaymentErrorCode.LedgerUnavailable, { cause: error });
      }
      if (error instanceof LedgerTaskFailedError) {
        throw new PaymentError(error.message, PaymentErrorCode.LedgerTaskFailed, { cause: error });
      }
      throw error;
    }
  }
}
