import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import {
  CapturePaymentTaskPayload,
  PAYMENT_TASK,
  PaymentTaskPayload,
  type PaymentTaskResult,
} from '@clearline/contracts';
import { isTransientDatabaseError } from '@clearline/persistence';
import { Task, TaskContext, type TaskHandlerOptions } from '@clearline/tasks';
import { PaymentProcessingService, type TaskRun } from './payment-processing.service';
import { toPaymentTaskResult } from './payment.mapper';
import { isTransientPaymentError } from './payments.exception';

/**
 * Only what is transient is retried through the broker: the payment codes whose outcome
 * is `retry` (`paymentTaskOutcome`: processor or ledger not answering, accounts not open
 * yet) and transient database errors. 100 ms base, full jitter, 3 retries, so a payment
 * that needs them all is settled within about a second.
 */
const PAYMENT_TASK_RETRY = {
  retryOn: [isTransientDatabaseError, isTransientPaymentError],
  retryCountMax: 3,
  retryBackoffMs: 100,
  retryBackoffMaxMs: 2_000,
} as const satisfies TaskHandlerOptions;

const run = (context: TaskContext, payload: PaymentTaskPayload): TaskRun => ({
  taskId: context.taskId,
  attempt: context.retries,
  round: payload.resume ?? 0,
  willRetry: (error) => context.willRetry(error),
});

/**
 * The payment tasks. Not transactional: a task holds no database connection while it
 * waits for the processor or the ledger; each ends with its own short statement,
 * guarded by the payment's status. The result is a `PaymentTaskResult`.
 */
@Controller()
export class PaymentsConsumer {
  constructor(private readonly processing: PaymentProcessingService) {}

  @Task(PAYMENT_TASK.authorize, { senders: [], payload: PaymentTaskPayload, ...PAYMENT_TASK_RETRY })
  async authorize(
    @Payload() payload: PaymentTaskPayload,
    @Ctx() context: TaskContext,
  ): Promise<PaymentTaskResult> {
    return toPaymentTaskResult(
      await this.processing.authorize(payload.payment_id, run(context, payload)),
    );
  }

  @Task(PAYMENT_TASK.capture, {
    senders: [],
    payload: CapturePaymentTaskPayload,
    ...PAYMENT_TASK_RETRY,
  })
  async capture(
    @Payload() payload: CapturePaymentTaskPayload,
    @Ctx() context: TaskContext,
  ): Promise<PaymentTaskResult> {
    return toPaymentTaskResult(
      await this.processing.capture(
        payload.payment_id,
        payload.amount_to_capture,
        run(context, payload),
      ),
    );
  }

  @Task(PAYMENT_TASK.cancel, { senders: [], payload: PaymentTaskPayload, ...PAYMENT_TASK_RETRY })
  async cancel(
    @Payload() payload: PaymentTaskPayload,
    @Ctx() context: TaskContext,
  ): Promise<PaymentTaskResult> {
    return toPaymentTaskResult(
      await this.processing.cancel(payload.payment_id, run(context, payload)),
    );
  }
}
