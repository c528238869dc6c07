/** Why a merchant refunds (Stripe's reasons). */
export const REFUND_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'] as const;
export type RefundReason = (typeof REFUND_REASONS)[number];

/** A refund's status: `pending` until the refund service's outcome is recorded. */
export const REFUND_STATUSES = ['pending', 'succeeded', 'failed', 'canceled'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

/** A refund, as the refund use cases see it. Money is `bigint` minor units. */
export interface Refund {
  id: string;
  merchantId: string;
  paymentId: string;
  amount: bigint;
  currency: string;
  status: RefundStatus;
  reason: RefundReason | null;
  /** Why it failed: the processor's reason, `insufficient_funds` or `processor_unavailable`. */
  failureReason: string | null;
  /** The processor's id of the refund, once it succeeded (what its files name). */
  processorReference: string | null;
  metadata: Record<string, string>;
  createdAt: Date;
  updatedAt: Date;
}

/** How a refund ended, as the refund service reported it: what ending it writes. */
export interface RefundEnd {
  status: 'succeeded' | 'failed';
  failureReason: string | null;
  /** The processor's id of a refund that succeeded; null when it failed. */
  processorReference: string | null;
}
