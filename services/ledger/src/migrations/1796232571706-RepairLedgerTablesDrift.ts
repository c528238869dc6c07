import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Brings a ledger migrated with the first version of CreateLedgerTables1764100000000
 * to the shape that migration creates today. That migration was edited after it
 * landed (6b19878: foreign keys from transfers to accounts dropped, accounts made
 * permanent by triggers), so databases migrated before the edit kept the old shape.
 * Every statement is idempotent: on a database created by today's version it changes
 * nothing but recreating the same triggers, so both kinds of database end identical.
 */
export class RepairLedgerTablesDrift1796232571706 implements MigrationInterface {
  name = 'RepairLedgerTablesDrift1796232571706';

  async up(runner: QueryRunner): Promise<void> {
    // The ledger locks both accounts before it writes a transfer and accounts are
    // never deleted (triggers below); the foreign keys only cost throughput.
    await runner.query(`
      ALTER TABLE ledger_transfers
        DROP CONSTRAINT IF EXISTS ledger_transfers_debit_account_id_fkey,
        DROP CONSTRAINT IF EXISTS ledger_transfers_credit_account_id_fkey`);
    // The body is byte for byte the one CreateLedgerTables creates, so the catalogs match.
    await runner.query(`
      CREATE OR REPLACE FUNCTION ledger_accounts_permanent() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'ledger accounts are never deleted: % refused', TG_OP
          USING ERRCODE = 'restrict_violation';
      END $$`);
    await runner.query(`DROP TRIGGER IF EXISTS ledger_accounts_no_delete ON ledger_accounts`);
    await runner.query(`
      CREATE TRIGGER ledger_accounts_no_delete BEFORE DELETE ON ledger_accounts
        FOR EACH ROW EXECUTE FUNCTION ledger_accounts_permanent()`);
    await runner.query(`DROP TRIGGER IF EXISTS ledger_accounts_no_truncate ON ledger_accounts`);
    await runner.query(`
      CREATE TRIGGER ledger_accounts_no_truncate BEFORE TRUNCATE ON ledger_accounts
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_accounts_permanent()`);
  }

  // Nothing to undo: after up() every database has the shape CreateLedgerTables creates
  // today, whichever version made it, and that migration's down() removes all of it.
  // Putting the foreign keys back would give a database that no migration describes.
  down(_runner: QueryRunner): Promise<void> {
    return Promise.resolve();
  }
}
