/** How a payment is captured: at once, or later by `POST /v1/payments/{id}/capture`. */
export const CAPTURE_METHODS = ['automatic', 'manual'] as const;
export type CaptureMethod = (typeof CAPTURE_METHODS)[number];

/**
 * A payment's status as stored: the API's statuses, plus `capturing` and `canceling`
 * while a capture or cancel task is on its way (shown as `processing`).
 */
export type PaymentState =
  | 'processing'
  | 'requires_capture'
  | 'capturing'
  | 'canceling'
  | 'succeeded'
  | 'canceled'
  | 'failed';

/** A payment, as the payment use cases see it. Money is `bigint` minor units. */
export interface Payment {
  id: string;
  merchantId: string;
  amount: bigint;
  currency: string;
  status: PaymentState;
  captureMethod: CaptureMethod;
  /** What a capture may still take. */
  amountCapturable: bigint;
  amountCaptured: bigint;
  /** What succeeded refunds gave back. */
  amountRefunded: bigint;
  source: string;
  description: string | null;
  metadata: Record<string, string>;
  failureCode: string | null;
  failureMessage: string | null;
  /** The processor's id of the authorization, once it approved (what its files name). */
  processorReference: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A payment as a refund decision sees it: read, or under the payment's row lock. */
export interface RefundablePayment extends Payment {
  /** What refunds still pending hold of `amountCaptured`. */
  amountRefundReserved: bigint;
}

/** What a status change writes besides the status; absent amounts are left as they are. */
export interface PaymentChange {
  status: PaymentState;
  amountCapturable?: bigint;
  amountCaptured?: bigint;
  failureCode?: string;
  failureMessage?: string;
  /** The authorization's id at the processor, when the change records its approval. */
  processorReference?: string;
}

/** The payment as a status change leaves it (what the change's event reports). */
export function applyChange(payment: Payment, change: PaymentChange, updatedAt: Date): Payment {
  return {
    ...payment,
    status: change.status,
    amountCapturable: change.amountCapturable ?? payment.amountCapturable,
    amountCaptured: change.amountCaptured ?? payment.amountCaptured,
    failureCode: change.failureCode ?? null,
    failureMessage: change.failureMessage ?? null,
    processorReference: change.processorReference ?? payment.processorReference,
    updatedAt,
  };
}
