import { Injectable } from '@nestjs/common';
import { isPaymentTaskResult, type PaymentTaskResult } from '@clearline/contracts';
import { TaskClient } from '@clearline/tasks';
import { awaitTaskResult } from '../common/task-result';
import { withTaskResult } from './payment.mapper';
import type { Payment } from './payment.model';
import { PaymentsRepository } from './payments.repository';

/**
 * Waits for a payment task to finish, for the real-time answer. The task's result
 * (`PaymentTaskResult`) says what it changed, and the payment the request holds (as it
 * wrote or claimed it) supplies the rest: no read on the hot path. On a timeout, a
 * failed task or a result of another version the payment is read as it is now,
 * typically still `processing`.
 */
@Injectable()
export class PaymentWaiter {
  constructor(
    private readonly tasks: TaskClient,
    private readonly payments: PaymentsRepository,
  ) {}

  /**
   * Before the statement that creates a payment and enqueues its task: the request's
   * wait then needs no read of the task's row (the id is new, nothing can have run).
   */
  expectFresh(taskId: string): void {
    this.tasks.expect(taskId);
  }

  async outcome(payment: Payment, taskId: string, waitMs: number): Promise<Payment> {
    if (waitMs <= 0) return payment;
    const result = await awaitTaskResult(
      this.tasks,
      taskId,
      waitMs,
      (value): value is PaymentTaskResult => isPaymentTaskResult(value, payment.id),
    );
    if (result) return withTaskResult(payment, result);
    return (await this.payments.find(payment.merchantId, payment.id)) ?? payment;
  }
}
