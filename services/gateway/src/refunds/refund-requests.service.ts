import { strict as assert } from 'node:assert';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import {
  REFUND_TASK,
  type ProcessRefundPayload,
  type RefundSettledPayload,
} from '@clearline/contracts';
import { readCommitted, type Page, type PageRequest } from '@clearline/persistence';
import { CommittedOutbox } from '@clearline/tasks';
import { DataSource } from 'typeorm';
import { newId } from '@clearline/contracts';
import type { GatewayEnvironment } from '../gateway.env';
import type { IdempotencyClaim } from '../idempotency/idempotency.service';
import type { CreateRefundDto } from './refund.dto';
import { refundEndFromWire, toRefundDto } from './refund.mapper';
import type { RefundablePayment } from '../payments/payment.model';
import { PaymentsRepository } from '../payments/payments.repository';
import type { Refund } from './refund.model';
import { RefundWaiter } from './refund-waiter';
import { RefundRequestError, RefundRequestErrorCode } from './refunds.exception';
import { RefundsRepository, type RefundOpening } from './refunds.repository';

/** The task that processes a refund in the refund service; one per refund. */
export const processRefundTaskId = (refundId: string): string => `${refundId}:process`;

/**
 * Refunds as the merchant asks for them, and their outcomes as the refund service
 * reports them. A refund is decided from the payment as read, and its amount reserved
 * by the statement that writes the refund, its event and the outbox task for the refund
 * service only if the payment still covers it then (checked on the row's newest
 * version); one that lost that race is decided again, in the end under the payment's
 * row lock: fifty concurrent refunds of one payment never add up to more than was
 * captured.
 */
@Injectable()
export class RefundRequestsService {
  private readonly logger = new Logger('RefundRequests');
  private readonly defaultWaitMs: number;

  constructor(
    private readonly refunds: RefundsRepository,
    private readonly payments: PaymentsRepository,
    private readonly waiter: RefundWaiter,
    private readonly dataSource: DataSource,
    private readonly committed: CommittedOutbox,
    config: ConfigService<GatewayEnvironment, true>,
  ) {
    this.defaultWaitMs = config.get('PAYMENT_WAIT_MS', { infer: true });
  }

  /**
   * Opens the refund and waits (up to `waitMs`, or the configured `PAYMENT_WAIT_MS` when
   * null) for its outcome; returns the refund as it stands when the wait ends.
   */
  async create(
    merchantId: string,
    input: CreateRefundDto,
    claim: IdempotencyClaim | null,
    waitMs: number | null,
  ): Promise<Refund> {
    // A retry of a request whose first run committed the refund resumes from it.
    const refund =
      (claim?.reference ? await this.refunds.find(merchantId, claim.reference) : undefined) ??
      (await this.open(merchantId, input, claim));
    return this.waiter.outcome(refund, waitMs ?? this.defaultWaitMs);
  }

  async retrieve(merchantId: string, id: string): Promise<Refund> {
    const refund = await this.refunds.find(merchantId, id);
    if (!refund) throw refundNotFound(id);
    return refund;
  }

  /** The merchant's refunds (of one payment, when `paymentId` is given), newest first. */
  list(merchantId: string, page: PageRequest, paymentId: string | null): Promise<Page<Refund>> {
    return this.refunds.list(merchantId, page, paymentId);
  }

  /**
   * The refund service's outcome, applied once: refund, payment amounts and event in one
   * statement, shared with the outcomes that arrive at the same time, as is the read
   * before it (the refund as it stands, for the event).
   */
  async settle(outcome: RefundSettledPayload): Promise<Refund> {
    const refund = await this.refunds.findByIdShared(outcome.refund_id);
    // An outcome for a refund that does not exist is a fault.
    if (!refund) throw refundNotFound(outcome.refund_id);
    // A redelivered outcome: the refund ended before.
    if (refund.status !== 'pending') return refund;
    const end = refundEndFromWire(outcome);
    const ended: Refund = { ...refund, ...end };
    const endedAt = await this.refunds.settleOne({
      id: refund.id,
      end,
      event: { type: `refund.${end.status}`, data: toRefundDto(ended) },
    });
    if (!endedAt) {
      // Ended meanwhile by another delivery of the outcome: as that one left it.
      return (await this.refunds.findById(refund.id)) ?? refund;
    }
    this.logger.log({ refund_id: refund.id, payment_id: refund.paymentId }, `refund ${end.status}`);
    return { ...ended, updatedAt: endedAt };
  }

  /**
   * Decided from the payment as read (shared with the refunds opened at the same time,
   * no lock), then opened in a statement shared with them, which reserves the amount
   * only if the payment still covers it. A payment another refund reserved meanwhile is
   * read again; after `OPTIMISTIC_OPENS_MAX` such turns (a payment refunded by many at
   * once) the refund is decided and opened under the payment's row lock, where
   * concurrent refunds of it queue.
   */
  private async open(
    merchantId: string,
    input: CreateRefundDto,
    claim: IdempotencyClaim | null,
  ): Promise<Refund> {
    for (let turn = 0; turn < OPTIMISTIC_OPENS_MAX; turn += 1) {
      const payment = await this.payments.findRefundableShared(merchantId, input.payment);
      const refund = await this.refunds.openShared(opening(merchantId, payment, input, claim));
      if (refund) return opened(refund, claim);
    }
    return this.openLocked(merchantId, input, claim);
  }

  /**
   * Under the payment's row lock: decided from the payment as it is, then opened as
   * `open` does, in the transaction; the task is published right after the commit (no
   * relay woken; the relay's sweep sends it if this process cannot).
   */
  private async openLocked(
    merchantId: string,
    input: CreateRefundDto,
    claim: IdempotencyClaim | null,
  ): Promise<Refund> {
    const { refund, outbox } = await readCommitted(this.dataSource, async (manager) => {
      const payment = await this.payments.lockForRefund(manager, merchantId, input.payment);
      return this.refunds.open(manager, opening(merchantId, payment, input, claim));
    });
    assert(refund !== null, 'a refund decided under the payment lock is reserved');
    this.committed.sendCommitted(outbox);
    return opened(refund, claim);
  }
}

/** Turns of `RefundRequestsService.open` without a lock before it takes the payment's. */
const OPTIMISTIC_OPENS_MAX = 2;

/** The refund `input` asks of `payment` (as read), to open; refused as a request error. */
function opening(
  merchantId: string,
  payment: RefundablePayment | undefined,
  input: CreateRefundDto,
  claim: IdempotencyClaim | null,
): RefundOpening {
  if (!payment) {
    throw new RefundRequestError(
      `No such payment: '${input.payment}'`,
      RefundRequestErrorCode.PaymentNotFound,
    );
  }
  const id = newId('re');
  const createdAt = new Date();
  const refund: Refund = {
    id,
    merchantId,
    paymentId: payment.id,
    amount: refundAmount(payment, input.amount),
    currency: payment.currency,
    status: 'pending',
    reason: input.reason ?? null,
    failureReason: null,
    processorReference: null,
    metadata: input.metadata ?? {},
    createdAt,
    updatedAt: createdAt,
  };
  const task: ProcessRefundPayload = {
    refund_id: id,
    payment_id: payment.id,
    merchant_id: merchantId,
    amount: refund.amount.toString(),
    currency: payment.currency,
    source: payment.source,
  };
  return {
    refund,
    claim,
    task: { task: REFUND_TASK.process, payload: task, options: { id: processRefundTaskId(id) } },
    event: { type: 'refund.created', data: toRefundDto(refund) },
  };
}

/** The refund opened; its request's claim now names it (what a retry resumes from). */
function opened(refund: Refund, claim: IdempotencyClaim | null): Refund {
  if (claim) claim.reference = refund.id;
  return refund;
}

function refundNotFound(refundId: string): RefundRequestError {
  return new RefundRequestError(
    `No such refund: '${refundId}'`,
    RefundRequestErrorCode.RefundNotFound,
  );
}

/**
 * What this refund may take: `asked` (or, by default, all that is left) if the payment
 * is captured and `captured − refunded − reserved by pending refunds` covers it.
 */
function refundAmount(payment: RefundablePayment, asked: number | undefined): bigint {
  if (payment.status !== 'succeeded') {
    throw new RefundRequestError(
      `This payment's status is ${payment.status}; only a succeeded (captured) payment can be refunded`,
      RefundRequestErrorCode.PaymentNotCaptured,
    );
  }
  const captured = payment.amountCaptured;
  const refunded = payment.amountRefunded;
  const left = captured - refunded - payment.amountRefundReserved;
  if (refunded >= captured) {
    throw new RefundRequestError(
      `Payment ${payment.id} has already been refunded`,
      RefundRequestErrorCode.PaymentRefunded,
    );
  }
  const amount = asked === undefined ? left : BigInt(asked);
  if (amount > left || amount <= 0n) {
    throw new RefundRequestError(
      `Refund amount (${amount}) is greater than what is left to refund on payment ${payment.id} (${left}, after pending refunds)`,
      RefundRequestErrorCode.AmountTooLarge,
    );
  }
  return amount;
}
