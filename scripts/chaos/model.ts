/** What a chaos run records and reads back, and what its checks judge. */

/** An HTTP answer; `status` null when none came (connection refused or reset, timeout). */
export interface Answer {
  status: number | null;
  body: unknown;
}

export type RequestKind = 'pay' | 'capture' | 'cancel' | 'refund';

/** One POST the load made, with its Idempotency-Key, and what it was answered. */
export interface RequestRecord {
  kind: RequestKind;
  /** The merchant's API key sent it. */
  merchantKey: string;
  path: string;
  body: Record<string, unknown>;
  key: string;
  first: Answer;
  /**
   * The answer a client takes as the request's outcome: the first, unless it was none, a
   * 5xx or a 409 (key in use); then what sending it again gave once the faults were over.
   */
  final: Answer;
  /** Sent once more with its key by the checks. */
  replay?: Answer;
}

export interface PaymentRow {
  id: string;
  merchant: string;
  amount: bigint;
  status: string;
  captured: bigint;
  capturable: bigint;
  refunded: bigint;
}

export interface RefundRow {
  id: string;
  payment: string;
  merchant: string;
  amount: bigint;
  status: string;
}

export interface TransferRow {
  id: string;
  amount: bigint;
  /** A pending transfer's state (`pending`, `posted`, `voided`, `expired`), else null. */
  pendingStatus: string | null;
}

/** A merchant's accounts, summed over its roles (pending, available) in one currency. */
export interface MerchantBalance {
  merchant: string;
  debitsPosted: bigint;
  creditsPosted: bigint;
  debitsPending: bigint;
  creditsPending: bigint;
}

export interface TaskRow {
  id: string;
  task: string;
  state: string;
}

export interface DeadLetterRow {
  id: string;
  queue: string;
  task: string | null;
  reason: string;
}

/** Everything the checks read, once nothing is in flight any more. */
export interface ChaosState {
  requests: RequestRecord[];
  merchants: string[];
  payments: PaymentRow[];
  refunds: RefundRow[];
  transfers: TransferRow[];
  balances: MerchantBalance[];
  ledgerCheck: { balanced: boolean; violations: string[] };
  /** Task results not in a final state (SUCCESS, FAILURE, REVOKED). */
  unfinishedTasks: TaskRow[];
  deadLetters: DeadLetterRow[];
  /** Services that exited on their own (not killed by a fault), each said in a sentence. */
  crashes: string[];
  /** What was still in flight when the wait for quiet ended (all zero when it came). */
  inFlight: { operations: number; outbox: number; queued: number };
}
