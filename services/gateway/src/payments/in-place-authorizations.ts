import { Injectable, Logger } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { PAYMENT_TASK, paymentTaskId } from '@clearline/contracts';
import { inPlaceTaskSpan } from '@clearline/tasks';
import type { Payment } from './payment.model';
import { PaymentProcessingService, type TaskRun } from './payment-processing.service';
import type { CreatedPayment } from './payment-writes.repository';

/**
 * The most authorizations one gateway process runs in its requests at once; past it a
 * payment's task goes to the broker as it always could, and a worker runs it.
 */
export const IN_PLACE_AUTHORIZATIONS_MAX = 256;

const outcomes = new Counter({
  name: 'clearline_payment_authorizations_in_place_total',
  help: 'Payment authorizations a request considered running in place, by outcome: settled (ran and recorded by the request), handed_over (its task went to the broker after an error), timed_out (the request answered before the run ended), over_limit (too many in place already: sent as a task)',
  labelNames: ['outcome'],
});
const running = new Gauge({
  name: 'clearline_payment_authorizations_in_place',
  help: 'Payment authorizations running in requests of this process now',
});

/** How an in-place run ended for the request: settled, handed over to the task, or past the request's wait. */
export type InPlaceOutcome =
  { kind: 'settled'; payment: Payment } | { kind: 'handed_over' } | { kind: 'timed_out' };

/**
 * A payment whose request waits for its outcome is authorized by that request, in its
 * own process, instead of by a worker that consumes its task: the broker round trip, the
 * worker's read of the payment, the task's separate result statement and the outbox row's
 * marking go, and the outcome's one statement records all of it (the payment's change,
 * its event, the task's result and its outbox row marked sent).
 *
 * Nothing durable is given up. The task was written with the payment, in the same
 * statement, `sentBy: 'writer'`: if this process dies mid-run, the relay publishes it once
 * the writer's grace has passed and a worker finishes the payment (every step is guarded
 * by the payment's status, our idempotency key at the processor and the ledger's
 * transfer ids, so a step that ran already is not applied again). A run that fails in any
 * way (processor unavailable, ledger not answering, a database error) is not decided
 * here: the task is handed over to the broker at once, and the worker retries it with
 * its backoff, asks the processor about an unknown outcome on its last attempt, or
 * dead-letters it, as for any payment. So an in-place run only ever ends a payment
 * whose outcome the processor stated (approved and posted, or declined).
 */
@Injectable()
export class InPlaceAuthorizations {
  private readonly logger = new Logger('PaymentWorker');
  private count = 0;

  constructor(private readonly processing: PaymentProcessingService) {}

  /** Takes a slot for a run, if one is free (`run` gives it back). */
  acquire(): boolean {
    if (this.count >= IN_PLACE_AUTHORIZATIONS_MAX) {
      outcomes.inc({ outcome: 'over_limit' });
      return false;
    }
    this.count += 1;
    running.set(this.count);
    return true;
  }

  /** Gives back a slot `acquire` took, when no run follows (the payment was not created). */
  release(): void {
    this.count -= 1;
    running.set(this.count);
  }

  /**
   * Authorizes a payment just created with `inPlace` (after `acquire`). Resolves within
   * `waitMs`: `settled` with the payment as its outcome left it; `handed_over` when the
   * run failed and its task went to the broker; `timed_out` when the run goes on past the
   * request's wait (it finishes, or hands over, in the background).
   */
  async run(created: CreatedPayment, waitMs: number): Promise<InPlaceOutcome> {
    const { payment } = created;
    const run: TaskRun = {
      taskId: paymentTaskId(payment.id, 'authorize'),
      attempt: 0,
      round: 0,
      // Nothing is final in place: every error hands the task over.
      willRetry: () => true,
      inPlace: { task: PAYMENT_TASK.authorize, queue: created.queue },
    };
    const work = inPlaceTaskSpan(
      { task: PAYMENT_TASK.authorize, taskId: run.taskId, queue: created.queue },
      () => this.processing.authorizeLoaded(payment, run),
    ).then(
      (settled): InPlaceOutcome => {
        outcomes.inc({ outcome: 'settled' });
        return { kind: 'settled', payment: settled };
      },
      (error: unknown): InPlaceOutcome => {
        this.logger.warn(
          { payment_id: payment.id, task_id: run.taskId },
          `authorizing in place failed, the task takes over: ${String(error)}`,
        );
        created.handOver?.();
        outcomes.inc({ outcome: 'handed_over' });
        return { kind: 'handed_over' };
      },
    );
    void work.finally(() => this.release());
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<InPlaceOutcome>((resolve) => {
      timer = setTimeout(() => {
        outcomes.inc({ outcome: 'timed_out' });
        resolve({ kind: 'timed_out' });
      }, waitMs);
    });
    try {
      return await Promise.race([work, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
}
