import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  PAYMENT_PROCESSOR,
  ProcessorUnavailableError,
  type PaymentProcessor,
} from '@clearline/processor';
import { PaymentLedger } from './payment-ledger';
import { toPaymentDto } from './payment.mapper';
import { applyChange, type Payment, type PaymentChange, type PaymentState } from './payment.model';
import { PaymentWritesRepository } from './payment-writes.repository';
import { PaymentError, PaymentErrorCode } from './payments.exception';
import { PaymentsRepository } from './payments.repository';

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
 * ledger, then record the outcome. Each ends with one statement that moves the payment
 * from the status it expects (a conditional UPDATE) and records the event, so a
 * redelivered or replayed task finds the payment moved on and changes nothing. Each
 * returns the payment as it stands at the end; what goes wrong is a `PaymentError`,
 * whose code decides retry, failure or dead letter (`paymentTaskOutcome`).
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
  async authorize(paymentId: string, run: TaskRun): Promise<Payment> {
    const payment = await this.load(paymentId);
    if (payment.status !== 'processing') return payment;
    const capture = payment.captureMethod === 'automatic';
    const outcome = await this.authorizeAtProcessor(payment, run, capture);
    if (outcome.status === 'declined') {
      return this.fail(payment, run, outcome.code, outcome.message);
    }
    try {
      await this.ledger.authorize(payment, capture, run.attempt);
    } catch (error) {
      await this.undoAuthorization(payment, run, error);
      throw error;
    }
    return capture
      ? this.settle(payment, run, 'processing', 'payment.succeeded', {
          status: 'succeeded',
          amountCaptured: payment.amount,
          amountCapturable: 0n,
        })
      : this.settle(payment, run, 'processing', 'payment.requires_capture', {
          status: 'requires_capture',
          amountCapturable: payment.amount,
        });
  }

  /** Captures `amount` of an authorization (claimed as `capturing` by the request). */
  async capture(paymentId: string, amount: number, run: TaskRun): Promise<Payment> {
    const payment = await this.load(paymentId);
    if (payment.status !== 'capturing') return payment;
    const captured = BigInt(amount);
    await askProcessor(payment, () =>
      this.processor.capture({
        paymentId,
        source: payment.source,
        amount: captured,
        currency: payment.currency,
        attempt: run.attempt,
      }),
    );
    await this.ledger.capture(payment, captured, run.attempt);
    return this.settle(payment, run, 'capturing', 'payment.succeeded', {
      status: 'succeeded',
      amountCaptured: captured,
      amountCapturable: 0n,
    });
  }

  /** Voids an authorization (claimed as `canceling` by the request). */
  async cancel(paymentId: string, run: TaskRun): Promise<Payment> {
    const payment = await this.load(paymentId);
    if (payment.status !== 'canceling') return payment;
    await askProcessor(payment, () =>
      this.processor.void({ paymentId, source: payment.source, attempt: run.attempt }),
    );
    await this.ledger.void(payment, run.attempt);
    return this.settle(payment, run, 'canceling', 'payment.canceled', {
      status: 'canceled',
      amountCapturable: 0n,
    });
  }

  private async load(paymentId: string): Promise<Payment> {
    const payment = await this.payments.findByIdShared(paymentId);
    // A task for a payment that does not exist is a bug: dead-lettered, never retried.
    if (!payment) throw PaymentError.notFound(paymentId);
    return payment;
  }

  /** The processor's answer; on the last attempt of a failure the payment fails first. */
  private async authorizeAtProcessor(payment: Payment, run: TaskRun, capture: boolean) {
    try {
      return await askProcessor(payment, () =>
        this.processor.authorize({
          paymentId: payment.id,
          source: payment.source,
          amount: payment.amount,
          currency: payment.currency,
          capture,
          attempt: run.attempt,
        }),
      );
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
  private async undoAuthorization(payment: Payment, run: TaskRun, error: unknown): Promise<void> {
    if (!(error instanceof PaymentError)) return;
    const refused = error.code === PaymentErrorCode.LedgerRefused;
    const neverReady = error.code === PaymentErrorCode.LedgerNotReady && lastAttempt(error, run);
    if (!refused && !neverReady) return;
    const fields = { payment_id: payment.id, task_id: run.taskId };
    this.logger.error(fields, `ledger refused the authorization: ${String(error)}`);
    try {
      await this.processor.void({ paymentId: payment.id, source: payment.source, attempt: 0 });
    } catch (voidError) {
      this.logger.error(fields, `voiding at the processor failed: ${String(voidError)}`);
    }
    await this.fail(payment, run, 'processing_error', PROCESSING_ERROR_MESSAGE);
  }

  private fail(payment: Payment, run: TaskRun, code: string, message: string): Promise<Payment> {
    return this.settle(payment, run, 'processing', 'payment.failed', {
      status: 'failed',
      failureCode: code,
      failureMessage: message,
    });
  }

  /**
   * One statement: the payment moves from `from` with its event, or, if an earlier run
   * moved it already, is read as it is now (only a redelivered task reads again).
   */
  private async settle(
    payment: Payment,
    run: TaskRun,
    from: PaymentState,
    eventType: PaymentEvent,
    change: PaymentChange,
  ): Promise<Payment> {
    // The event reports the payment as the change leaves it; its time is the statement's.
    const event = toPaymentDto(applyChange(payment, change, payment.updatedAt));
    const movedAt = await this.writes.settleOne({
      paymentId: payment.id,
      from,
      change,
      eventType,
      eventObject: event,
    });
    const settled = movedAt
      ? applyChange(payment, change, movedAt)
      : ((await this.payments.findById(payment.id)) ?? payment);
    this.logger.log(
      { payment_id: payment.id, task_id: run.taskId, attempt: run.attempt, status: settled.status },
      `payment ${settled.status}`,
    );
    return settled;
  }
}

/**
 * A processor call; a processor that did not answer is `processor_unavailable` (its
 * outcome is unknown: the task retries). Any other error goes on as it is: a fault.
 */
async function askProcessor<T>(payment: Payment, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof ProcessorUnavailableError)) throw error;
    throw new PaymentError(
      `the processor did not answer for ${payment.id}: ${error.message}`,
      PaymentErrorCode.ProcessorUnavailable,
      { cause: error },
    );
  }
}
