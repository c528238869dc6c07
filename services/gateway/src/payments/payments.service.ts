import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import {
  PAYMENT_TASK,
  paymentTaskId,
  type CapturePaymentTaskPayload,
  type PaymentTaskPayload,
} from '@clearline/contracts';
import type { Page, PageRequest } from '@clearline/persistence';
import { PAYMENT_PROCESSOR, type PaymentProcessor } from '@clearline/processor';
import { newId } from '@clearline/contracts';
import type { GatewayEnvironment } from '../gateway.env';
import type { IdempotencyClaim } from '../idempotency/idempotency.service';
import type { CapturePaymentDto, CreatePaymentDto } from './payment.dto';
import { publicStatus } from './payment.mapper';
import type { Payment, PaymentState } from './payment.model';
import { PaymentWaiter } from './payment-waiter';
import { PaymentWritesRepository, type CreatedPayment } from './payment-writes.repository';
import { InPlaceAuthorizations } from './in-place-authorizations';
import { PaymentError, PaymentErrorCode } from './payments.exception';
import { PaymentsRepository } from './payments.repository';

/** How a capture or cancel claims the payment: only an authorized payment qualifies. */
const CLAIMS = {
  capture: { from: 'requires_capture', to: 'capturing' },
  cancel: { from: 'requires_capture', to: 'canceling' },
} as const satisfies Record<string, { from: PaymentState; to: PaymentState }>;

type Operation = keyof typeof CLAIMS;

/**
 * The merchant's payment requests. Each writes its change, its idempotency reference
 * and the outbox task that carries it out in one statement, then waits (up to
 * `waitMs`, or the configured `PAYMENT_WAIT_MS` when null) for the task's outcome. A new
 * payment's request that waits runs the authorization itself (`InPlaceAuthorizations`),
 * its committed task the fallback: a crash after the commit loses nothing, and the
 * answer is the same whoever finishes the task. Each returns the payment as it stands
 * when the wait ends.
 */
@Injectable()
export class PaymentsService {
  private readonly defaultWaitMs: number;

  constructor(
    private readonly payments: PaymentsRepository,
    private readonly writes: PaymentWritesRepository,
    private readonly waiter: PaymentWaiter,
    private readonly inPlace: InPlaceAuthorizations,
    @Inject(PAYMENT_PROCESSOR) private readonly processor: PaymentProcessor,
    config: ConfigService<GatewayEnvironment, true>,
  ) {
    this.defaultWaitMs = config.get('PAYMENT_WAIT_MS', { infer: true });
  }

  async create(
    merchantId: string,
    input: CreatePaymentDto,
    claim: IdempotencyClaim | null,
    waitMs: number | null,
  ): Promise<Payment> {
    if (!this.processor.recognizesSource(input.source)) {
      throw new PaymentError(`No such token: '${input.source}'`, PaymentErrorCode.SourceUnknown);
    }
    // A retry of a request whose first run committed the payment resumes from it.
    const resumed = claim?.reference
      ? await this.payments.find(merchantId, claim.reference)
      : undefined;
    const wait = waitMs ?? this.defaultWaitMs;
    if (resumed) return this.waiter.outcome(resumed, paymentTaskId(resumed.id, 'authorize'), wait);
    // A request that waits runs the authorization itself when it can (`InPlaceAuthorizations`).
    const inPlace = wait > 0 && this.inPlace.acquire();
    const started = Date.now();
    let created: CreatedPayment;
    try {
      created = await this.intake(merchantId, input, claim, wait > 0 && !inPlace, inPlace);
    } catch (error) {
      if (inPlace) this.inPlace.release();
      throw error;
    }
    const taskId = paymentTaskId(created.payment.id, 'authorize');
    if (!inPlace) return this.waiter.outcome(created.payment, taskId, wait);
    const outcome = await this.inPlace.run(created, Math.max(0, wait - (Date.now() - started)));
    switch (outcome.kind) {
      case 'settled':
        return outcome.payment;
      case 'handed_over':
        return this.waiter.outcome(
          created.payment,
          taskId,
          Math.max(0, wait - (Date.now() - started)),
        );
      case 'timed_out':
        return created.payment;
    }
  }

  /**
   * The payment, its idempotency reference and its authorize task: one (shared) statement.
   * A task run in place is kept unpublished (`inPlace`), for a hand-over.
   */
  private async intake(
    merchantId: string,
    input: CreatePaymentDto,
    claim: IdempotencyClaim | null,
    willWait: boolean,
    inPlace: boolean,
  ): Promise<CreatedPayment> {
    const id = newId('pay');
    if (willWait) this.waiter.expectFresh(paymentTaskId(id, 'authorize'));
    const created = await this.writes.createOne({
      id,
      merchantId,
      amount: input.amount,
      currency: input.currency,
      captureMethod: input.capture_method ?? 'automatic',
      source: input.source,
      description: input.description ?? null,
      metadata: input.metadata ?? {},
      claim,
      inPlace,
    });
    if (claim) claim.reference = id;
    return created;
  }

  async retrieve(merchantId: string, id: string): Promise<Payment> {
    const payment = await this.payments.find(merchantId, id);
    if (!payment) throw PaymentError.notFound(id);
    return payment;
  }

  list(merchantId: string, page: PageRequest): Promise<Page<Payment>> {
    return this.payments.list(merchantId, page);
  }

  /** Captures `amount_to_capture` (by default all) of an authorized payment; the rest is released. */
  capture(
    merchantId: string,
    id: string,
    input: CapturePaymentDto,
    claim: IdempotencyClaim | null,
    waitMs: number | null,
  ): Promise<Payment> {
    return this.operate(merchantId, id, 'capture', claim, waitMs, input.amount_to_capture);
  }

  /** Voids the authorization of a payment that waits for capture. */
  cancel(
    merchantId: string,
    id: string,
    claim: IdempotencyClaim | null,
    waitMs: number | null,
  ): Promise<Payment> {
    return this.operate(merchantId, id, 'cancel', claim, waitMs);
  }

  /** Claims the payment for a capture or cancel (one conditional UPDATE) and hands the work to its task. */
  private async operate(
    merchantId: string,
    id: string,
    operation: Operation,
    claim: IdempotencyClaim | null,
    waitMs: number | null,
    amount?: number,
  ): Promise<Payment> {
    const resumed = claim?.reference ? await this.payments.find(merchantId, id) : undefined;
    const payment =
      resumed ?? (await this.claimAndHandOver(merchantId, id, operation, claim, amount));
    return this.waiter.outcome(payment, paymentTaskId(id, operation), waitMs ?? this.defaultWaitMs);
  }

  /**
   * The claim, the request's idempotency reference and the task in one statement, shared
   * with the claims that come at the same time (no transaction holds the payment's row
   * across round trips); the task is published right after the commit (no relay woken;
   * the relay's sweep sends it if this process cannot). A capture's default amount is
   * what the payment can capture as read: while it is `requires_capture`, which the claim
   * checks, that cannot change.
   */
  private async claimAndHandOver(
    merchantId: string,
    id: string,
    operation: Operation,
    claim: IdempotencyClaim | null,
    amount: number | undefined,
  ): Promise<Payment> {
    const payment = await this.payments.findByIdShared(id);
    if (payment?.merchantId !== merchantId) throw PaymentError.notFound(id);
    const amountToCapture =
      operation === 'capture' ? (amount ?? Number(payment.amountCapturable)) : null;
    const payload: PaymentTaskPayload | CapturePaymentTaskPayload =
      amountToCapture === null
        ? { payment_id: id }
        : { payment_id: id, amount_to_capture: amountToCapture };
    const claimed = await this.writes.claimOne({
      merchantId,
      paymentId: id,
      ...CLAIMS[operation],
      amountToCapture,
      claim,
      task: {
        task: PAYMENT_TASK[operation],
        payload,
        options: { id: paymentTaskId(id, operation) },
      },
    });
    if (!claimed) throw await this.refusal(merchantId, id, operation, amount);
    if (claim) claim.reference = id;
    return claimed;
  }

  /** Why a claim found nothing: no such payment, the wrong state, or too much to capture. */
  private async refusal(
    merchantId: string,
    id: string,
    operation: Operation,
    amount: number | undefined,
  ): Promise<PaymentError> {
    const payment = await this.payments.find(merchantId, id);
    if (!payment) return PaymentError.notFound(id);
    const { from } = CLAIMS[operation];
    if (payment.status !== from) {
      return new PaymentError(
        `This payment's status is ${publicStatus(payment.status)}, but it must be ${from} to ${operation} it`,
        PaymentErrorCode.UnexpectedState,
      );
    }
    return new PaymentError(
      `amount_to_capture (${String(amount)}) is more than amount_capturable (${payment.amountCapturable})`,
      PaymentErrorCode.AmountToCaptureTooLarge,
    );
  }
}
