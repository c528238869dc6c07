import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The ledger: accounts with their four balances, append-only transfers, and the state
 * of two-phase (pending) transfers. The database itself refuses an UPDATE, DELETE or
 * TRUNCATE of a transfer, the deletion of an account, and any balance that breaks an
 * account's flags.
 */
export class CreateLedgerTables1764100000000 implements MigrationInterface {
  name = 'CreateLedgerTables1764100000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE ledger_accounts (
        id              text PRIMARY KEY CHECK (id <> '' AND length(id) <= 200),
        currency        text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
        code            integer NOT NULL CHECK (code > 0),
        owner           text NOT NULL,
        debits_must_not_exceed_credits boolean NOT NULL DEFAULT false,
        credits_must_not_exceed_debits boolean NOT NULL DEFAULT false,
        debits_pending  bigint NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
        debits_posted   bigint NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
        credits_pending bigint NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
        credits_posted  bigint NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
        created_at      timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ledger_accounts_flags_exclusive
          CHECK (NOT (debits_must_not_exceed_credits AND credits_must_not_exceed_debits)),
        CONSTRAINT ledger_accounts_debits_within_credits
          CHECK (NOT debits_must_not_exceed_credits
                 OR debits_pending + debits_posted <= credits_posted),
        CONSTRAINT ledger_accounts_credits_within_debits
          CHECK (NOT credits_must_not_exceed_debits
                 OR credits_pending + credits_posted <= debits_posted)
      )`);
    await runner.query(`CREATE INDEX ledger_accounts_owner_idx ON ledger_accounts (owner)`);
    await runner.query(`
      CREATE FUNCTION ledger_accounts_permanent() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'ledger accounts are never deleted: % refused', TG_OP
          USING ERRCODE = 'restrict_violation';
      END $$`);
    await runner.query(`
      CREATE TRIGGER ledger_accounts_no_delete BEFORE DELETE ON ledger_accounts
        FOR EACH ROW EXECUTE FUNCTION ledger_accounts_permanent()`);
    await runner.query(`
      CREATE TRIGGER ledger_accounts_no_truncate BEFORE TRUNCATE ON ledger_accounts
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_accounts_permanent()`);
    await runner.query(`
      CREATE TABLE ledger_transfers (
        id                text PRIMARY KEY CHECK (id <> '' AND length(id) <= 200),
        -- No foreign keys to accounts: the ledger locks both accounts before it writes a
        -- transfer, and accounts are never deleted (trigger below); two index probes
        -- per transfer cost a quarter of the throughput (measured by bench:ledger).
        debit_account_id  text NOT NULL,
        credit_account_id text NOT NULL,
        amount            bigint NOT NULL CHECK (amount > 0),
        currency          text NOT NULL,
        code              integer NOT NULL,
        pending           boolean NOT NULL DEFAULT false,
        post_pending      boolean NOT NULL DEFAULT false,
        void_pending      boolean NOT NULL DEFAULT false,
        linked            boolean NOT NULL DEFAULT false,
        pending_id        text REFERENCES ledger_transfers (id),
        timeout_s         integer NOT NULL DEFAULT 0 CHECK (timeout_s >= 0),
        created_at        timestamptz NOT NULL,
        CONSTRAINT ledger_transfers_accounts_differ CHECK (debit_account_id <> credit_account_id),
        CONSTRAINT ledger_transfers_one_phase
          CHECK (num_nonnulls(nullif(pending, false), nullif(post_pending, false),
                              nullif(void_pending, false)) <= 1),
        CONSTRAINT ledger_transfers_resolution_names_pending
          CHECK ((post_pending OR void_pending) = (pending_id IS NOT NULL))
      )`);
    // A pending transfer is resolved at most once, whatever the application does.
    await runner.query(
      `CREATE UNIQUE INDEX ledger_transfers_pending_id_key ON ledger_transfers (pending_id)
         WHERE pending_id IS NOT NULL`,
    );
    await runner.query(
      `CREATE INDEX ledger_transfers_debit_idx ON ledger_transfers (debit_account_id, created_at)`,
    );
    await runner.query(
      `CREATE INDEX ledger_transfers_credit_idx ON ledger_transfers (credit_account_id, created_at)`,
    );
    await runner.query(`
      CREATE FUNCTION ledger_transfers_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'ledger transfers are append-only: % refused (post a reversing transfer instead)', TG_OP
          USING ERRCODE = 'restrict_violation';
      END $$`);
    await runner.query(`
      CREATE TRIGGER ledger_transfers_no_update_delete
        BEFORE UPDATE OR DELETE ON ledger_transfers
        FOR EACH ROW EXECUTE FUNCTION ledger_transfers_append_only()`);
    await runner.query(`
      CREATE TRIGGER ledger_transfers_no_truncate
        BEFORE TRUNCATE ON ledger_transfers
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_transfers_append_only()`);
    await runner.query(`
      CREATE TABLE ledger_pending_transfers (
        id          text PRIMARY KEY REFERENCES ledger_transfers (id),
        status      text NOT NULL CHECK (status IN ('pending', 'posted', 'voided', 'expired')),
        expires_at  timestamptz,
        resolved_at timestamptz
      )`);
    await runner.query(
      `CREATE INDEX ledger_pending_transfers_expiry_idx ON ledger_pending_transfers (expires_at)
         WHERE status = 'pending' AND expires_at IS NOT NULL`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE ledger_pending_transfers`);
    await runner.query(`DROP TABLE ledger_transfers`);
    await runner.query(`DROP FUNCTION ledger_transfers_append_only()`);
    await runner.query(`DROP TABLE ledger_accounts`);
    await runner.query(`DROP FUNCTION ledger_accounts_permanent()`);
  }
}
