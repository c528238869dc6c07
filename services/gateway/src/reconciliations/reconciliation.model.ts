/**
 * How a line of a settlement file, or a record of ours, came out of a reconciliation.
 * `matched`: a record of ours has the line's reference and type, amount and currency.
 * `missing_in_ours`: none of ours has its reference and type. `missing_in_file`: a
 * record of ours of a date the file covers that no line names. `amount_mismatch`,
 * `currency_mismatch`: the record differs (amount judged first). `duplicate_in_file`:
 * a second or later line with the same reference and type (the first is judged as any).
 */
export const RECONCILIATION_KINDS = [
  'matched',
  'missing_in_ours',
  'missing_in_file',
  'amount_mismatch',
  'currency_mismatch',
  'duplicate_in_file',
] as const;
export type ReconciliationKind = (typeof RECONCILIATION_KINDS)[number];

/** How many lines (and records of ours, for `missing_in_file`) came out each way. */
export type ReconciliationCounts = Record<ReconciliationKind, number>;

/** One reconciliation of one settlement file (one per distinct file). */
export interface Reconciliation {
  id: string;
  /** The sha256 of the file's bytes, in hex: what makes a file the same file. */
  fileSha256: string;
  /** Data lines in the file (the header not counted). */
  lines: number;
  counts: ReconciliationCounts;
  createdAt: Date;
}

/** What `reconcile` did: reconciled the file now, or found the same file reconciled before. */
export interface ReconcileOutcome {
  created: boolean;
  reconciliation: Reconciliation;
}
