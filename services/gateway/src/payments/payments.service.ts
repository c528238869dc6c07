import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { readCommitted } from '@clearline/persistence';
import { PAYMENT_PROCESSOR, type PaymentProcessor } from '@clearline/processor';
import { enqueueTask } from '@clearline/tasks';
import { DataSource, type EntityManager } from 'typeorm';
import type { GatewayEnvironment } from '../gateway.env';
import { GatewayError, GatewayErrorCode } from '../http/gateway.exception';
import { newId } from '../http/ids';
import { ListObject, type ListQuery } from '../http/pagination';
import type { Plain } from '../http/wire';
import { IdempotencyService, type IdempotencyClaim } from '../idempotency/idempotency.service';
import type { CapturePaymentDto, CreatePaymentDto, PaymentDto } from './payment.dto';
import { publicStatus, toPaymentDto } from './payment.mapper';
import type { PaymentRow, PaymentState } from './payment.rows';
import { PAYMENT_TASK, paymentTaskId } from './payment.task';
import { PaymentWaiter, type WaitPreference } from './payment-wait';
import { PaymentWritesRepository } from './payment-writes.repository';
import { PaymentsRepository } from './payments.repository';

export const PAYMENTS_URL = '/v1/payments';

/** How a capture or cancel claims the payment: only an authorized payment qualifies. */
const CLAIMS = {
  capture: { from: 'requires_capture', to: 'capturing' },
  cancel: { from: 'requires_capture', to: 'canceling' },
} as const satisfies Record<string, { from: PaymentState; to: PaymentState }>;

/**
 * The merchant's payment requests. Each writes its change, its idempotency reference
 * and the outbox task that carries it out in one transaction, then waits (as the client
 * prefers) for the task's outcome: the request never does the work itself, so a crash
 * after the commit loses nothing, and the answer is the same whoever finishes the task.
 */
@Injectable()
export class PaymentsService {
  private readonly defaultWaitMs: number;

  constructor(
    private readonly payments: PaymentsRepository,
    private readonly writes: PaymentWritesRepository,
    private readonly waiter: PaymentWaiter,
    private readonly idempotency: IdempotencyService,
    private readonly dataSource: DataSource,
    @Inject(PAYMENT_PROCESSOR) private readonly processor: PaymentProcessor,
    config: ConfigService<GatewayEnvironment, true>,
  ) {
    this.defaultWaitMs = config.get('PAYMENT_WAIT_MS', { infer: true });
  }

  async create(
    merchantId: string,
    input: CreatePaymentDto,
    claim: IdempotencyClaim | null,
    prefer: WaitPreference,
  ): Promise<Plain<PaymentDto>> {
    if (!this.processor.recognizesSource(input.source)) {
      throw new GatewayError(
        `No such token: '${input.source}'`,
        GatewayErrorCode.ParameterInvalid,
        'source',
      );
    }
    // A retry of a request whose first run committed the payment resumes from it.
    const resumed = claim?.reference
      ? await this.payments.find(merchantId, claim.reference)
      : undefined;
    const payment = resumed ?? (await this.intake(merchantId, input, claim));
    return this.waiter.outcome(
      payment,
      paymentTaskId(payment.id, 'authorize'),
      this.waitMs(prefer),
    );
  }

  /** The payment, its idempotency reference and its authorize task: one (shared) statement. */
  private async intake(
    merchantId: string,
    input: CreatePaymentDto,
    claim: IdempotencyClaim | null,
  ): Promise<PaymentRow> {
    const id = newId('pay');
    const row = await this.writes.createOne({
      id,
      merchantId,
      amount: input.amount,
      currency: input.currency,
      captureMethod: input.capture_method ?? 'automatic',
      source: input.source,
      description: input.description ?? null,
      metadata: input.metadata ?? {},
      claim,
    });
    if (claim) claim.reference = id;
    return row;
  }

  async retrieve(merchantId: string, id: string): Promise<Plain<PaymentDto>> {
    const row = await this.payments.find(merchantId, id);
    if (!row) throw GatewayError.notFound('payment', id);
    return toPaymentDto(row);
  }

  async list(merchantId: string, query: ListQuery): Promise<ListObject<Plain<PaymentDto>>> {
    const page = await this.payments.list(merchantId, query);
    return new ListObject(PAYMENTS_URL, page.rows.map(toPaymentDto), page.hasMore);
  }

  /** Captures `amount_to_capture` (by default all) of an authorized payment; the rest is released. */
  capture(
    merchantId: string,
    id: string,
    input: CapturePaymentDto,
    claim: IdempotencyClaim | null,
    prefer: WaitPreference,
  ): Promise<Plain<PaymentDto>> {
    return this.operate(merchantId, id, 'capture', claim, prefer, input.amount_to_capture);
  }

  /** Voids the authorization of a payment that waits for capture. */
  cancel(
    merchantId: string,
    id: string,
    claim: IdempotencyClaim | null,
    prefer: WaitPreference,
  ): Promise<Plain<PaymentDto>> {
    return this.operate(merchantId, id, 'cancel', claim, prefer);
  }

  /** Claims the payment for a capture or cancel (one conditional UPDATE) and hands the work to its task. */
  private async operate(
    merchantId: string,
    id: string,
    operation: 'capture' | 'cancel',
    claim: IdempotencyClaim | null,
    prefer: WaitPreference,
    amount?: number,
  ): Promise<Plain<PaymentDto>> {
    const resumed = claim?.reference ? await this.payments.find(merchantId, id) : undefined;
    const payment =
      resumed ??
      (await readCommitted(this.dataSource, async (manager) => {
        const claimed = await this.payments.claim(manager, merchantId, id, {
          ...CLAIMS[operation],
          ...(amount === undefined ? {} : { amountMax: amount }),
        });
        if (!claimed) throw await this.refusal(manager, merchantId, id, operation, amount);
        const payload =
          operation === 'capture'
            ? { payment_id: id, amount_to_capture: amount ?? Number(claimed.amount_capturable) }
            : { payment_id: id };
        await this.handOver(manager, claim, id, operation, payload);
        return claimed;
      }));
    return this.waiter.outcome(payment, paymentTaskId(id, operation), this.waitMs(prefer));
  }

  /** The outbox task and the idempotency reference, in the caller's transaction. */
  private async handOver(
    manager: EntityManager,
    claim: IdempotencyClaim | null,
    paymentId: string,
    operation: 'capture' | 'cancel',
    payload: object,
  ): Promise<void> {
    if (claim) await this.idempotency.setReference(manager, claim, paymentId);
    await enqueueTask(manager, PAYMENT_TASK[operation], payload, {
      id: paymentTaskId(paymentId, operation),
    });
  }

  /** Why a claim found nothing: no such payment (404), the wrong state, or too much to capture. */
  private async refusal(
    manager: EntityManager,
    merchantId: string,
    id: string,
    operation: 'capture' | 'cancel',
    amount: number | undefined,
  ): Promise<GatewayError> {
    const row: PaymentRow | undefined = await this.payments.find(merchantId, id, manager);
    if (!row) return GatewayError.notFound('payment', id);
    const { from } = CLAIMS[operation];
    if (row.status !== from) {
      return new GatewayError(
        `This payment's status is ${publicStatus(row.status)}, but it must be ${from} to ${operation} it`,
        GatewayErrorCode.PaymentUnexpectedState,
      );
    }
    return new GatewayError(
      `amount_to_capture (${String(amount)}) is more than amount_capturable (${row.amount_capturable})`,
      GatewayErrorCode.AmountTooLarge,
      'amount_to_capture',
    );
  }

  private waitMs(prefer: WaitPreference): number {
    return prefer.waitMs ?? this.defaultWaitMs;
  }
}
