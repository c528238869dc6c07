/** A refund's status as the gateway reports it (the API's refund statuses). */
export type RefundSettledStatus = 'pending' | 'succeeded' | 'failed' | 'canceled';

/**
 * The version of {@link RefundSettledResult} this code writes and reads. Added fields keep
 * the version; a change a reader of the previous version would misread takes a new one.
 */
export const REFUND_SETTLED_RESULT_VERSION = 1;

/**
 * The result of `gateway.refund_settled` (`REFUND_TASK.settled`): what the outcome
 * changed on the refund, as the refund stood once it was applied (a redelivered outcome
 * reports the refund as it is). The request that waits for the refund reads it instead
 * of the refund. `updated_at` is ISO 8601.
 */
export interface RefundSettledResult {
  version: typeof REFUND_SETTLED_RESULT_VERSION;
  refund_id: string;
  status: RefundSettledStatus;
  /** Why it failed (the processor's reason, or one of `REFUND_FAILURE`); null otherwise. */
  failure_reason: string | null;
  /**
   * The processor's id of the refund once it succeeded (`processorRefundId`); null
   * otherwise. A result without it (an older writer) is read as the refund instead.
   */
  processor_reference: string | null;
  updated_at: string;
}

const STATUSES: readonly unknown[] = ['pending', 'succeeded', 'failed', 'canceled'];

/**
 * Whether `value` is a {@link RefundSettledResult} of this version for `refundId`. A
 * reader that gets anything else reads the refund instead.
 */
export function isRefundSettledResult(
  value: unknown,
  refundId: string,
): value is RefundSettledResult {
  if (typeof value !== 'object' || value === null) return false;
  const result = value as Record<string, unknown>;
  const reason = result['failure_reason'];
  const reference = result['processor_reference'];
  return (
    result['version'] === REFUND_SETTLED_RESULT_VERSION &&
    result['refund_id'] === refundId &&
    STATUSES.includes(result['status']) &&
    (reason === null || typeof reason === 'string') &&
    (reference === null || typeof reference === 'string') &&
    typeof result['updated_at'] === 'string'
  );
}
