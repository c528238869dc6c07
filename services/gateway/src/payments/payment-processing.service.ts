import { strict as assert } from 'node:assert';
import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  PAYMENT_PROCESSOR,
  processorIdempotencyKey,
  ProcessorUnavailableError,
  retrieveOutcome,
  type AppliedOperation,
  type AuthorizeResult,
  type PaymentProcessor,
  type ProcessorCall,
  type ProcessorOperation,
} from '@clearline/processor';
import { PaymentLedger } from './payment-ledger';
import type { KeyedResult } from '@clearline/tasks';
import { toPaymentDto, toPaymentTaskResult } from './payment.mapper';
import { applyChange, type Payment, type PaymentChange, type PaymentState } from './payment.model';
import { PaymentWritesRepository } from './payment-writes.repository';
import { PaymentError, PaymentErrorCode } from './payments.exception';
import { PaymentsRepository } from './payments.repository';

/** The task run a step belongs to: for logs, for the processor, and to know the last attempt. */
export interface TaskRun {
  taskId: string;
  /** The task's retry count: 0 on the first attempt. */
  attempt: number;
  /** 0 for the operation's first task; n for the sweeper's n-th resume of it. */
  round: number;
  /** The task layer runs the task again if this attempt throws `error` (`TaskContext.willRetry`). */
  willRetry: (error: unknown) => boolean;
  /**
   * Set when the request runs the task in place (`InPlaceAuthorizations`) instead of a
   * worker consuming it: the outcome's statement records the task's result (in `queue`,
   * where the task would have gone) and marks its outbox row sent.
   */
  inPlace?: { task: string; queue: string };
}

type PaymentEvent =
  'payment.succeeded' | 'payment.requires_capture' | 'payment.failed' | 'payment.canceled';

const PROCESSING_ERROR_MESSAGE = 'The payment could not be processed; no money was taken.';

/**
 * The result of a task the request ran in place, as a worker would have stored it: the
 * task returns the payment as the change leaves it (`toPaymentTaskResult`). Its
 * `updated_at` is this process's clock, not the statement's: only the result's version
 * and fields are read back (`withTaskResult`), never its time.
 */
function ranInPlace(
  payment: Payment,
  change: PaymentChange,
  run: TaskRun,
  inPlace: { task: string; queue: string },
): KeyedResult {
  return {
    key: payment.id,
    id: run.taskId,
    task: inPlace.task,
    queue: inPlace.queue,
    state: 'SUCCESS',
    result: toPaymentTaskResult(applyChange(payment, change, new Date())),
    retries: run.attempt,
    rootId: run.taskId,
  };
}

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
   * the money to the ledger. A decline fails the payment. A processor that stays
   * unavailable is asked on the last attempt what became of the authorization
   * (`atProcessor`): applied goes on as if it had answered; only "nothing happened"
   * fails the payment with `processing_error`; unknown leaves it `processing` for the
   * sweeper. Either way the error goes on, so the task is dead-lettered. The approval's
   * `authorizationId` (answered, or recovered through `retrieve`) is kept as the payment's
   * processor reference, written by the statement that records the outcome.
   */
  async authorize(paymentId: string, run: TaskRun): Promise<Payment> {
    const payment = await this.load(paymentId);
    if (payment.status !== 'processing') return payment;
    return this.authorizeLoaded(payment, run);
  }

  /**
   * `authorize` for a payment the caller holds as it is (`processing`, just created): the
   * request that created it runs its authorization in place (`run.inPlace`), with no read.
   */
  authorizeLoaded(payment: Payment, run: TaskRun): Promise<Payment> {
    if (payment.status !== 'processing') {
      throw new Error(`payment ${payment.id} is ${payment.status}, not processing`);
    }
    return this.authorizeProcessing(payment, run);
  }

  private async authorizeProcessing(payment: Payment, run: TaskRun): Promise<Payment> {
    const capture = payment.captureMethod === 'automatic';
    const outcome = await this.authorizeAtProcessor(payment, run, capture);
    if (outcome.status === 'declined') {
      return this.fail(payment, run, outcome.code, outcome.message);
    }
    const processorReference = outcome.authorizationId;
    try {
      await this.ledger.authorize(payment, capture, run);
    } catch (error) {
      await this.undoAuthorization(payment, run, error, processorReference);
      throw error;
    }
    return capture
      ? this.settle(payment, run, 'processing', 'payment.succeeded', {
          status: 'succeeded',
          amountCaptured: payment.amount,
          amountCapturable: 0n,
          processorReference,
        })
      : this.settle(payment, run, 'processing', 'payment.requires_capture', {
          status: 'requires_capture',
          amountCapturable: payment.amount,
          processorReference,
        });
  }

  /**
   * Captures `amount` of an authorization (claimed as `capturing` by the request). A
   * capture whose outcome stays unknown, or that never reached the processor, leaves the
   * payment `capturing`: the sweeper resumes it (same idempotency key) later.
   */
  async capture(paymentId: string, amount: number, run: TaskRun): Promise<Payment> {
    const payment = await this.load(paymentId);
    if (payment.status !== 'capturing') return payment;
    const captured = BigInt(amount);
    await this.atProcessor(
      payment,
      run,
      'capture',
      (call) => this.processor.capture({ ...call, amount: captured, currency: payment.currency }),
      () => undefined,
    );
    await this.ledger.capture(payment, captured, run);
    return this.settle(payment, run, 'capturing', 'payment.succeeded', {
      status: 'succeeded',
      amountCaptured: captured,
      amountCapturable: 0n,
    });
  }

  /** Voids an authorization (claimed as `canceling` by the request); unknown as for a capture. */
  async cancel(paymentId: string, run: TaskRun): Promise<Payment> {
    const payment = await this.load(paymentId);
    if (payment.status !== 'canceling') return payment;
    await this.atProcessor(
      payment,
      run,
      'void',
      (call) => this.processor.void(call),
      () => undefined,
    );
    await this.ledger.void(payment, run);
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

  /** The processor's answer, or the one it gave and we lost (`atProcessor`). */
  private authorizeAtProcessor(
    payment: Payment,
    run: TaskRun,
    capture: boolean,
  ): Promise<AuthorizeResult> {
    return this.atProcessor(
      payment,
      run,
      'authorize',
      (call) =>
        this.processor.authorize({
          ...call,
          amount: payment.amount,
          currency: payment.currency,
          capture,
        }),
      (applied) => {
        assert(applied.operation === 'authorize', 'retrieve answered for the authorization');
        return applied.result;
      },
      () => this.fail(payment, run, 'processing_error', PROCESSING_ERROR_MESSAGE),
    );
  }

  /**
   * One processor call, with our id as its idempotency key. An unanswered call is
   * `processor_unavailable` and retried (same key: the processor dedupes). When no retry
   * follows, the outcome is unknown, so the processor is asked (`retrieve`) rather than
   * guessed at: applied → its answer (`answerOf`), and the task goes on; nothing
   * happened → `onNotApplied` (authorize fails the payment), then the error goes on;
   * still unknown → the error goes on and the payment stays as it is, its money
   * untouched, for the sweeper to resume (`RecoveryService`).
   */
  private async atProcessor<T>(
    payment: Payment,
    run: TaskRun,
    operation: Exclude<ProcessorOperation, 'refund'>,
    call: (fields: ProcessorCall) => Promise<T>,
    answerOf: (applied: AppliedOperation) => T,
    onNotApplied?: () => Promise<unknown>,
  ): Promise<T> {
    const fields: ProcessorCall = {
      paymentId: payment.id,
      source: payment.source,
      idempotencyKey: processorIdempotencyKey(operation, payment.id),
      attempt: run.attempt,
      round: run.round,
    };
    try {
      return await call(fields);
    } catch (error) {
      if (!(error instanceof ProcessorUnavailableError)) throw error;
      const unknown = new PaymentError(
        `the processor did not answer ${fields.idempotencyKey}: ${error.message}`,
        PaymentErrorCode.ProcessorUnavailable,
        { cause: error },
      );
      const log = { payment_id: payment.id, task_id: run.taskId, attempt: run.attempt };
      this.logger.warn(log, `processor call failed: ${error.message}`);
      if (!lastAttempt(unknown, run)) throw unknown;
      const resolution = await retrieveOutcome(this.processor, { ...fields, operation });
      this.logger.warn(
        log,
        `asked the processor about ${fields.idempotencyKey}: ${resolution.kind}`,
      );
      switch (resolution.kind) {
        case 'applied':
          return answerOf(resolution.applied);
        case 'not_applied':
          if (onNotApplied) await onNotApplied();
          throw unknown;
        case 'unknown':
          throw unknown;
      }
    }
  }

  /**
   * The processor approved but the ledger refused for good (or its accounts never
   * opened): release the authorization at the processor and fail the payment. A ledger
   * that did not answer is left alone: it may still apply the transfers, so the payment
   * stays `processing` and its dead-lettered task is for an operator to replay. The failed
   * payment keeps the reference of the authorization the processor made (and voided).
   */
  private async undoAuthorization(
    payment: Payment,
    run: TaskRun,
    error: unknown,
    processorReference: string,
  ): Promise<void> {
    if (!(error instanceof PaymentError)) return;
    const refused = error.code === PaymentErrorCode.LedgerRefused;
    const neverReady = error.code === PaymentErrorCode.LedgerNotReady && lastAttempt(error, run);
    if (!refused && !neverReady) return;
    const fields = { payment_id: payment.id, task_id: run.taskId };
    this.logger.error(fields, `ledger refused the authorization: ${String(error)}`);
    try {
      await this.processor.void({
        paymentId: payment.id,
        source: payment.source,
        idempotencyKey: processorIdempotencyKey('void', payment.id),
        attempt: 0,
        round: run.round,
      });
    } catch (voidError) {
      this.logger.error(fields, `voiding at the processor failed: ${String(voidError)}`);
    }
    await this.fail(payment, run, 'processing_error', PROCESSING_ERROR_MESSAGE, processorReference);
  }

  private fail(
    payment: Payment,
    run: TaskRun,
    code: string,
    message: string,
    processorReference?: string,
  ): Promise<Payment> {
    return this.settle(payment, run, 'processing', 'payment.failed', {
      status: 'failed',
      failureCode: code,
      failureMessage: message,
      ...(processorReference === undefined ? {} : { processorReference }),
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
      ...(run.inPlace ? { ran: ranInPlace(payment, change, run, run.inPlace) } : {}),
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
