import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { preparedStatement } from '@clearline/persistence';
import { ACCOUNT_CODES } from '@clearline/ledger-core';
import { TRANSFER_CODE } from '@clearline/contracts';
import type { RunRow } from './settlement.rows';

const RUN_COLUMNS = `id, cut_off, status, merchants, attempt, created_at, completed_at`;

/** The SQL of runs: one per cut-off, and the merchants each settles. */
@Injectable()
export class SettlementRunsRepository {
  /** Inserts the run of `cutOff`, or finds the one it has (locked either way). */
  async claimRun(
    manager: EntityManager,
    id: string,
    cutOff: Date,
  ): Promise<{ run: RunRow; isNew: boolean }> {
    const inserted: RunRow[] = await manager.query(
      preparedStatement(`INSERT INTO settlement_runs (id, cut_off, status) VALUES ($1, $2, 'running')
       ON CONFLICT (cut_off) DO NOTHING RETURNING ${RUN_COLUMNS}`),
      [id, cutOff],
    );
    if (inserted[0] !== undefined) return { run: inserted[0], isNew: true };
    const found: RunRow[] = await manager.query(
      preparedStatement(`SELECT ${RUN_COLUMNS} FROM settlement_runs WHERE cut_off = $1 FOR UPDATE`),
      [cutOff],
    );
    const run = found[0];
    if (run === undefined) throw new Error(`the run of ${cutOff.toISOString()} vanished`);
    return { run, isNew: false };
  }

  async run(manager: EntityManager, id: string, lock = false): Promise<RunRow | undefined> {
    const rows: RunRow[] = await manager.query(
      preparedStatement(
        `SELECT ${RUN_COLUMNS} FROM settlement_runs WHERE id = $1 ${lock ? 'FOR UPDATE' : ''}`,
      ),
      [id],
    );
    return rows[0];
  }

  /**
   * Merchants with a posting up to the cut-off that no settlement holds: a capture to one
   * of their pending accounts, or a refund posted from pending or available.
   */
  async merchantsWithActivity(manager: EntityManager, cutOff: Date): Promise<string[]> {
    const rows: { owner: string }[] = await manager.query(
      preparedStatement(`SELECT a.owner FROM ledger_accounts a
        WHERE a.code IN (${ACCOUNT_CODES.merchantPending}, ${ACCOUNT_CODES.merchantAvailable})
          AND (EXISTS (
                SELECT 1 FROM ledger_transfers t
                 WHERE t.credit_account_id = a.id AND t.code = ${TRANSFER_CODE.capture}
                   AND t.post_pending AND t.created_at <= $1
                   AND NOT EXISTS (SELECT 1 FROM settlement_items s WHERE s.transfer_id = t.id))
            OR EXISTS (
                SELECT 1 FROM ledger_transfers t
                 WHERE t.debit_account_id = a.id AND t.code = ${TRANSFER_CODE.refund}
                   AND t.post_pending AND t.created_at <= $1
                   AND NOT EXISTS (SELECT 1 FROM settlement_items s WHERE s.transfer_id = t.id)))
        GROUP BY a.owner ORDER BY a.owner`),
      [cutOff],
    );
    return rows.map((row) => row.owner);
  }

  async addMerchants(
    manager: EntityManager,
    runId: string,
    merchantIds: readonly string[],
  ): Promise<void> {
    await manager.query(
      preparedStatement(`INSERT INTO settlement_run_merchants (run_id, merchant_id, status)
       SELECT $1, m, 'pending' FROM unnest($2::text[]) AS m`),
      [runId, merchantIds],
    );
    await manager.query(
      preparedStatement(`UPDATE settlement_runs SET merchants = $2 WHERE id = $1`),
      [runId, merchantIds.length],
    );
  }

  /**
   * A failed run again: its merchants not settled are pending in a new attempt. That
   * includes any still `pending` (a member that dead-lettered ended the run early through
   * the chord's error link): resuming one that is in fact still running is safe, since a
   * merchant's claim is taken under its lock and its postings are keyed by the claim.
   */
  async restartFailed(
    manager: EntityManager,
    run: RunRow,
  ): Promise<{ attempt: number; merchants: string[] }> {
    const attempt = run.attempt + 1;
    const rows: { merchant_id: string }[] = await manager.query(
      preparedStatement(`WITH restarted AS (
         UPDATE settlement_run_merchants
            SET status = 'pending', attempt = $2, failure_code = NULL, failure_message = NULL,
                updated_at = now()
          WHERE run_id = $1 AND status IN ('failed', 'pending') RETURNING merchant_id)
       SELECT merchant_id FROM restarted`),
      [run.id, attempt],
    );
    await manager.query(
      preparedStatement(
        `UPDATE settlement_runs SET status = 'running', attempt = $2, completed_at = NULL WHERE id = $1`,
      ),
      [run.id, attempt],
    );
    return { attempt, merchants: rows.map((row) => row.merchant_id).sort() };
  }

  /** Ends the run: completed when every merchant settled, else partially failed. */
  async finish(manager: EntityManager, runId: string): Promise<RunRow | undefined> {
    const rows: RunRow[] = await manager.query(
      preparedStatement(`WITH finished AS (
         UPDATE settlement_runs r
          SET status = CASE WHEN EXISTS (
                SELECT 1 FROM settlement_run_merchants m
                 WHERE m.run_id = r.id AND m.status <> 'settled')
              THEN 'partially_failed' ELSE 'completed' END,
              completed_at = now()
        WHERE r.id = $1 AND r.status = 'running' RETURNING ${RUN_COLUMNS})
       SELECT ${RUN_COLUMNS} FROM finished`),
      [runId],
    );
    return rows[0];
  }
}
