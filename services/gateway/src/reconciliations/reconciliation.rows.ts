import type { Reconciliation } from './reconciliation.model';

/** The select list of a reconciliation (every query that returns one uses it). */
export const RECONCILIATION_COLUMNS = `id, file_sha256, lines, matched, missing_in_ours,
  missing_in_file, amount_mismatch, currency_mismatch, duplicate_in_file, created_at`;

/** A `reconciliations` row as PostgreSQL returns it. */
export interface ReconciliationRow {
  id: string;
  file_sha256: string;
  lines: number;
  matched: number;
  missing_in_ours: number;
  missing_in_file: number;
  amount_mismatch: number;
  currency_mismatch: number;
  duplicate_in_file: number;
  created_at: Date;
}

/** The reconciliation a row holds. */
export function toReconciliation(row: ReconciliationRow): Reconciliation {
  return {
    id: row.id,
    fileSha256: row.file_sha256,
    lines: row.lines,
    counts: {
      matched: row.matched,
      missing_in_ours: row.missing_in_ours,
      missing_in_file: row.missing_in_file,
      amount_mismatch: row.amount_mismatch,
      currency_mismatch: row.currency_mismatch,
      duplicate_in_file: row.duplicate_in_file,
    },
    createdAt: row.created_at,
  };
}
