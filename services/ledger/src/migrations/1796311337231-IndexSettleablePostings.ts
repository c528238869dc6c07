import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a settlement run reads of each merchant: its captures (code 2, posting a pending
 * auth, credited to its pending account) and its refunds (code 4, posted, debited from
 * its pending or available account) up to the cut-off. Through the account indexes every
 * posting is a heap page of its own (a merchant's postings are spread over the whole
 * table, among everyone else's): ~2,000 random page reads per merchant. These partial
 * indexes hold only those postings, with what settlement reads of them, so a merchant's
 * items are one index range read without the heap (bench:settlement: 216 ms → ~4 ms per
 * merchant at a million payments). A payment pays for it with one index entry, at capture.
 *
 * Built CONCURRENTLY (the table takes payments meanwhile), so outside a transaction; a
 * build cut short leaves an invalid index, which running the migration again drops first.
 */
export class IndexSettleablePostings1796311337231 implements MigrationInterface {
  name = 'IndexSettleablePostings1796311337231';
  transaction = false;

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP INDEX CONCURRENTLY IF EXISTS ledger_transfers_captures_idx`);
    await runner.query(
      `CREATE INDEX CONCURRENTLY ledger_transfers_captures_idx
         ON ledger_transfers (credit_account_id, created_at) INCLUDE (id, amount, currency)
         WHERE code = 2 AND post_pending`,
    );
    await runner.query(`DROP INDEX CONCURRENTLY IF EXISTS ledger_transfers_refunds_idx`);
    await runner.query(
      `CREATE INDEX CONCURRENTLY ledger_transfers_refunds_idx
         ON ledger_transfers (debit_account_id, created_at) INCLUDE (id, amount, currency)
         WHERE code = 4 AND post_pending`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP INDEX CONCURRENTLY IF EXISTS ledger_transfers_refunds_idx`);
    await runner.query(`DROP INDEX CONCURRENTLY IF EXISTS ledger_transfers_captures_idx`);
  }
}
