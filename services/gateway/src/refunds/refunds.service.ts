import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import {
  REFUND_TASK,
  type ProcessRefundPayload,
  type RefundSettledPayload,
} from '@clearline/contracts';
import { readCommitted } from '@clearline/persistence';
import { enqueueTask } from '@clearline/tasks';
import { DataSource, type EntityManager } from 'typeorm';
import { EventsService } from '../events/events.service';
import type { GatewayEnvironment } from '../gateway.env';
import { GatewayError, GatewayErrorCode } from '../http/gateway.exception';
import { newId } from '../http/ids';
import { ListObject } from '../http/pagination';
import type { Plain } from '../http/wire';
import { IdempotencyService, type IdempotencyClaim } from '../idempotency/idempotency.service';
import type { WaitPreference } from '../payments/payment-wait';
import type { CreateRefundDto, RefundDto, RefundListQuery } from './refund.dto';
import { toRefundDto } from './refund.mapper';
import type { RefundablePaymentRow, RefundRow } from './refund.rows';
import { RefundWaiter } from './refund-waiter';
import { RefundsRepository } from './refunds.repository';

export const REFUNDS_URL = '/v1/refunds';

/** The task that processes a refund in the refund service; one per refund. */
export const processRefundTaskId = (refundId: string): string => `${refundId}:process`;

/**
 * Refunds as the merchant asks for them. What is refundable is decided under the
 * payment's row lock, in the transaction that reserves the amount, writes the refund,
 * its event and the outbox task for the refund service: fifty concurrent refunds of
 * one payment queue on that lock and never add up to more than was captured.
 */
@Injectable()
export class RefundsService {
  private readonly logger = new Logger(RefundsService.name);
  private readonly defaultWaitMs: number;

  constructor(
    private readonly refunds: RefundsRepository,
    private readonly waiter: RefundWaiter,
    private readonly events: EventsService,
    private readonly idempotency: IdempotencyService,
    private readonly dataSource: DataSource,
    config: ConfigService<GatewayEnvironment, true>,
  ) {
    this.defaultWaitMs = config.get('PAYMENT_WAIT_MS', { infer: true });
  }

  async create(
    merchantId: string,
    input: CreateRefundDto,
    claim: IdempotencyClaim | null,
    prefer: WaitPreference,
  ): Promise<Plain<RefundDto>> {
    // A retry of a request whose first run committed the refund resumes from it.
    const refund =
      (claim?.reference ? await this.refunds.find(merchantId, claim.reference) : undefined) ??
      (await readCommitted(this.dataSource, (manager) =>
        this.open(manager, merchantId, input, claim),
      ));
    return this.waiter.outcome(refund, prefer.waitMs ?? this.defaultWaitMs);
  }

  async retrieve(merchantId: string, id: string): Promise<Plain<RefundDto>> {
    const row = await this.refunds.find(merchantId, id);
    if (!row) throw GatewayError.notFound('refund', id);
    return toRefundDto(row);
  }

  async list(merchantId: string, query: RefundListQuery): Promise<ListObject<Plain<RefundDto>>> {
    const page = await this.refunds.list(merchantId, query);
    return new ListObject(REFUNDS_URL, page.rows.map(toRefundDto), page.hasMore);
  }

  /** The refund service's outcome, applied once: refund, payment amounts and event together. */
  async settle(outcome: RefundSettledPayload): Promise<Plain<RefundDto>> {
    return readCommitted(this.dataSource, async (manager) => {
      const ended = await this.refunds.settle(manager, outcome.refund_id, {
        status: outcome.status,
        failureReason: outcome.status === 'failed' ? (outcome.failure_reason ?? 'unknown') : null,
      });
      if (!ended) {
        const row = await this.refunds.findById(outcome.refund_id, manager);
        if (!row) throw new Error(`outcome for unknown refund ${outcome.refund_id}`);
        return toRefundDto(row);
      }
      const object = toRefundDto(ended);
      await this.events.record(manager, ended.merchant_id, `refund.${ended.status}`, object);
      this.logger.log(
        { refund_id: ended.id, payment_id: ended.payment_id },
        `refund ${ended.status}`,
      );
      return object;
    });
  }

  private async open(
    manager: EntityManager,
    merchantId: string,
    input: CreateRefundDto,
    claim: IdempotencyClaim | null,
  ): Promise<RefundRow> {
    const payment = await this.refunds.lockPayment(manager, merchantId, input.payment);
    if (!payment) throw GatewayError.notFound('payment', input.payment, 'payment');
    const amount = refundAmount(payment, input.amount);
    await this.refunds.reserve(manager, payment.id, amount);
    const row = await this.refunds.insert(manager, {
      id: newId('re'),
      merchantId,
      paymentId: payment.id,
      amount,
      currency: payment.currency,
      reason: input.reason ?? null,
      metadata: input.metadata ?? {},
    });
    await this.events.record(manager, merchantId, 'refund.created', toRefundDto(row));
    if (claim) await this.idempotency.setReference(manager, claim, row.id);
    const task: ProcessRefundPayload = {
      refund_id: row.id,
      payment_id: payment.id,
      merchant_id: merchantId,
      amount: amount.toString(),
      currency: payment.currency,
      source: payment.source,
    };
    await enqueueTask(manager, REFUND_TASK.process, task, { id: processRefundTaskId(row.id) });
    return row;
  }
}

/**
 * What this refund may take: `asked` (or, by default, all that is left) if the payment
 * is captured and `captured − refunded − reserved by pending refunds` covers it.
 */
export function refundAmount(payment: RefundablePaymentRow, asked: number | undefined): bigint {
  if (payment.status !== 'succeeded') {
    throw new GatewayError(
      `This payment's status is ${payment.status}; only a succeeded (captured) payment can be refunded`,
      GatewayErrorCode.PaymentUnexpectedState,
      'payment',
    );
  }
  const captured = BigInt(payment.amount_captured);
  const refunded = BigInt(payment.amount_refunded);
  const left = captured - refunded - BigInt(payment.amount_refund_reserved);
  if (refunded >= captured) {
    throw new GatewayError(
      `Payment ${payment.id} has already been refunded`,
      GatewayErrorCode.ChargeAlreadyRefunded,
      'payment',
    );
  }
  const amount = asked === undefined ? left : BigInt(asked);
  if (amount > left || amount <= 0n) {
    throw new GatewayError(
      `Refund amount (${amount}) is greater than what is left to refund on payment ${payment.id} (${left}, after pending refunds)`,
      GatewayErrorCode.AmountTooLarge,
      'amount',
    );
  }
  return amount;
}
