/** The operations the sweeper resumes: a payment's three steps and a refund. */
export const OPERATION_KINDS = ['authorize', 'capture', 'cancel', 'refund'] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];

/**
 * Where an operation in flight stands:
 * - `running`: started (or last resumed) within `OPERATION_RESUME_AFTER_MS`;
 * - `overdue`: older than that, with resumes left: the sweeper resumes it;
 * - `abandoned`: older than that and resumed `OPERATION_RESUMES_MAX` times: an operator's.
 */
export const OPERATION_STATES = ['running', 'overdue', 'abandoned'] as const;
export type OperationState = (typeof OPERATION_STATES)[number];

/** A payment or refund whose operation has not ended. */
export interface OperationInFlight {
  id: string;
  object: 'payment' | 'refund';
  /** As stored: `processing`, `capturing` or `canceling` for a payment; `pending` for a refund. */
  status: string;
  operation: OperationKind;
  merchantId: string;
  createdAt: Date;
  /** When the operation began (the object's last status change). */
  updatedAt: Date;
  ageS: number;
  resumes: number;
}

/** The metric's figures for one kind and state. */
export interface OperationStats {
  kind: OperationKind;
  state: OperationState;
  count: number;
  /** Seconds since the oldest of them began. */
  oldestAgeS: number;
}
