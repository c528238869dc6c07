import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { Task, TaskContext } from '@clearline/tasks';
import type { Plain } from '../http/wire';
import type { PaymentDto } from './payment.dto';
import { PaymentProcessingService, type TaskRun } from './payment-processing.service';
import {
  CapturePaymentTaskPayload,
  PAYMENT_TASK,
  PAYMENT_TASK_RETRY,
  PaymentTaskPayload,
} from './payment.task';

const run = (context: TaskContext): TaskRun => ({
  taskId: context.taskId,
  attempt: context.retries,
  willRetry: (error) => context.willRetry(error),
});

/**
 * The payment tasks. Not transactional: a task holds no database connection while it
 * waits for the processor or the ledger; each ends with its own short transaction,
 * guarded by the payment's status. The result is the payment object.
 */
@Controller()
export class PaymentsConsumer {
  constructor(private readonly processing: PaymentProcessingService) {}

  @Task(PAYMENT_TASK.authorize, { payload: PaymentTaskPayload, ...PAYMENT_TASK_RETRY })
  authorize(
    @Payload() payload: PaymentTaskPayload,
    @Ctx() context: TaskContext,
  ): Promise<Plain<PaymentDto>> {
    return this.processing.authorize(payload.payment_id, run(context));
  }

  @Task(PAYMENT_TASK.capture, { payload: CapturePaymentTaskPayload, ...PAYMENT_TASK_RETRY })
  capture(
    @Payload() payload: CapturePaymentTaskPayload,
    @Ctx() context: TaskContext,
  ): Promise<Plain<PaymentDto>> {
    return this.processing.capture(payload.payment_id, payload.amount_to_capture, run(context));
  }

  @Task(PAYMENT_TASK.cancel, { payload: PaymentTaskPayload, ...PAYMENT_TASK_RETRY })
  cancel(
    @Payload() payload: PaymentTaskPayload,
    @Ctx() context: TaskContext,
  ): Promise<Plain<PaymentDto>> {
    return this.processing.cancel(payload.payment_id, run(context));
  }
}
