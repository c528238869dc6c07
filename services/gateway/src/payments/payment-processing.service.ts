import { Inject, Injectable, Logger } from '@nestjs/common';
import { PAYMENT_PROCESSOR, type PaymentProcessor } from '@clearline/processor';
import type { Plain } from '../http/wire';
import { LedgerNotReadyError, LedgerRefusedError, PaymentLedger } from './payment-ledger';
import type { PaymentDto } from './payment.dto';
import { applyChange, toPaymentDto } from './payment.mapper';
import type { PaymentRow, PaymentState } from './payment.rows';
import { PaymentWritesRepository } from './payment-writes.repository';
import { PaymentsRepository, type PaymentChange } from './payments.repository';

/** The task run a step belongs to: for logs, for the processor, and to know the last attempt. */
export interface TaskRun {
  taskId: string;
  /** The task's retry count: 0 on the first attempt. */
  attempt: number;
  /** The task layer runs the task again if this attempt throws `error` (`TaskContext.willRetry`). */
  willRetry: (error: unknown) => boolean;
}

type PaymentEvent =
  'payment.succeeded' | 'payment.requires_capture' | 'payment.failed' | 'payment.canceled';

const PROCESSING_ERROR_MESSAGE = 'The payment could not be processed; no money was taken.';

/** Whether this attempt is the last one the task gets for this error. */
function lastAttempt(error: unknown, run: TaskRun): boolean {
  return !run.willRetry(error);
}

/**
 * The work behind the payment tasks: talk to the processor, move the money in the
 * ledger, then record the outcome. Each ends with one transaction that moves the
 * payment from the status it expects (a conditional UPDATE) and records the event, so a
 * redelivered or replayed task finds the payment moved on and changes nothing.
 */
@Injectable()
export class PaymentProcessingService {
  private readonly logger = new Logger('PaymentWorker');

  constructor(
    private readonly payments: PaymentsRepository,
    private readonly writes: PaymentWritesRepository,
    private readonly ledger: PaymentLedger,
    @Inject(PAYMENT_PROCESSOR) private readonly processor: PaymentProcessor,
  ) {}

  /**
   * Authorizes with the processor (and captures, for automatic capture), then posts
   * the money to the ledger. A decline fails the payment; a processor that stays
   * unavailable fails it with `processing_error` on the last attempt (and the error
   * goes on, so the task is dead-lettered).
   */
  async authorize(paymentId: string, run: TaskRun): Promise<Plain<PaymentDto>> {
    const payment = await this.load(paymentId);
    if (payment.status !== 'processing') return toPaymentDto(payment);
    const capture = payment.capture_method === 'automatic';
    const outcome = await this.processorCall(payment, run, () =>
      this.processor.authorize({
        paymentId,
        source: payment.source,
        amount: BigInt(payment.amount),
        currency: payment.currency,
        capture,
        attempt: run.attempt,
      }),
    );
    if (outcome.status === 'declined') {
      return this.fail(payment, run, outcome.code, outcome.message);
    }
    try {
      await this.ledger.authorize(payment, capture, run.attempt);
    } catch (error) {
      await this.undoAuthorization(payment, run, error);
      throw error;
    }
    const amount = BigInt(payment.amount);
    return capture
      ? this.settle(payment, run, 'processing', 'payment.succeeded', {
          status: 'succeeded',
          amountCaptured: amount,
          amountCapturable: 0n,
        })
      : this.settle(payment, run, 'processing', 'payment.requires_capture', {
          status: 'requires_capture',
          amountCapturable: amount,
        });
  }

  /** Captures `amount` of an authorization (claimed as `capturing` by the request). */
  async capture(paymentId: string, amount: number, run: TaskRun): Promise<Plain<PaymentDto>> {
    const payment = await this.load(paymentId);
    if (payment.status !== 'capturing') return toPaymentDto(payment);
    const captured = BigInt(amount);
    await this.processor.capture({
      paymentId,
      source: payment.source,
      amount: captured,
      currency: payment.currency,
      attempt: run.attempt,
    });
    await this.ledger.capture(payment, captured, run.attempt);
    return this.settle(payment, run, 'capturing', 'payment.succeeded', {
      status: 'succeeded',
      amountCaptured: captured,
      amountCapturable: 0n,
    });
  }

  /** Voids an authorization (claimed as `canceling` by the request). */
  async cancel(paymentId: string, run: TaskRun): Promise<Plain<PaymentDto>> {
    const payment = await this.load(paymentId);
    if (payment.status !== 'canceling') return toPaymentDto(payment);
    await this.processor.void({ paymentId, source: payment.source, attempt: run.attempt });
    await this.ledger.void(payment, run.attempt);
    return this.settle(payment, run, 'canceling', 'payment.canceled', {
      status: 'canceled',
      amountCapturable: 0n,
    });
  }

  private async load(paymentId: string): Promise<PaymentRow> {
    const payment = await this.payments.findByIdShared(paymentId);
    // A task for a payment that does not exist is a bug: fail it (dead letter), never retry.
    if (!payment) throw new Error(`payment ${paymentId} does not exist`);
    return payment;
  }

  /** Runs a processor call; on the last attempt of a transient failure the payment fails first. */
  private async processorCall<T>(
    payment: PaymentRow,
    run: TaskRun,
    call: () => Promise<T>,
  ): Promise<T> {
    try {
      return await call();
    } catch (error) {
      this.logger.warn(
        { payment_id: payment.id, task_id: run.taskId, attempt: run.attempt },
        `processor call failed: ${String(error)}`,
      );
      if (lastAttempt(error, run)) {
        await this.fail(payment, run, 'processing_error', PROCESSING_ERROR_MESSAGE);
      }
      throw error;
    }
  }

  /**
   * The processor approved but the ledger refused for good (or its accounts never
   * opened): release the authorization at the processor and fail the payment. A ledger
   * that did not answer is left alone: it may still apply the transfers, so the payment
   * stays `processing` and its dead-lettered task is for an operator to replay.
   */
  private async undoAuthorization(
    payment: PaymentRow,
    run: TaskRun,
    error: unknown,
  ): Promise<void> {
    const refused = error instanceof LedgerRefusedError;
    if (!refused && !(error instanceof LedgerNotReadyError && lastAttempt(error, run))) return;
    const fields = { payment_id: payment.id, task_id: run.taskId };
    this.logger.error(fields, `ledger refused the authorization: ${String(error)}`);
    try {
      await this.processor.void({ paymentId: payment.id, source: payment.source, attempt: 0 });
    } catch (voidError) {
      this.logger.error(fields, `voiding at the processor failed: ${String(voidError)}`);
    }
    await this.fail(payment, run, 'processing_error', PROCESSING_ERROR_MESSAGE);
  }

  private fail(
    payment: PaymentRow,
    run: TaskRun,
    code: string,
    message: string,
  ): Promise<Plain<PaymentDto>> {
    return this.settle(payment, run, 'processing', 'payment.failed', {
      status: 'failed',
      failureCode: code,
      failureMessage: message,
    });
  }

  /**
   * One statement: the payment moves from `from` with its event, or, if an earlier run
   * moved it already, is returned as it is now.
   */
  private async settle(
    payment: PaymentRow,
    run: TaskRun,
    from: PaymentState,
    eventType: PaymentEvent,
    change: PaymentChange,
  ): Promise<Plain<PaymentDto>> {
    const object = toPaymentDto(applyChange(payment, change));
    const moved = await this.writes.settleOne({
      paymentId: payment.id,
      from,
      change,
      eventType,
      eventObject: object,
    });
    const dto = moved
      ? object
      : toPaymentDto((await this.payments.findById(payment.id)) ?? payment);
    this.logger.log(
      { payment_id: payment.id, task_id: run.taskId, attempt: run.attempt, status: dto.status },
      `payment ${dto.status}`,
    );
    return dto;
  }
}
