import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Settlement: runs (one per cut-off), the merchants of a run, settlements (one per
 * merchant and currency of a run), the items they settle (each ledger posting at most
 * once: the transfer id is the key), the fees a merchant still owes, and payouts.
 */
export class CreateSettlementTables1796280825482 implements MigrationInterface {
  name = 'CreateSettlementTables1796280825482';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE settlement_runs (
        id           text PRIMARY KEY,
        cut_off      timestamptz NOT NULL UNIQUE,
        status       text NOT NULL CHECK (status IN ('running', 'completed', 'partially_failed')),
        merchants    integer NOT NULL DEFAULT 0 CHECK (merchants >= 0),
        attempt      integer NOT NULL DEFAULT 1 CHECK (attempt >= 1),
        created_at   timestamptz NOT NULL DEFAULT now(),
        completed_at timestamptz
      )`);
    await runner.query(`
      CREATE TABLE settlement_run_merchants (
        run_id          text NOT NULL REFERENCES settlement_runs (id),
        merchant_id     text NOT NULL,
        status          text NOT NULL CHECK (status IN ('pending', 'settled', 'failed')),
        attempt         integer NOT NULL DEFAULT 1 CHECK (attempt >= 1),
        failure_code    text,
        failure_message text,
        updated_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (run_id, merchant_id),
        CHECK ((status = 'failed') = (failure_code IS NOT NULL))
      )`);
    await runner.query(`
      CREATE TABLE settlements (
        id             text PRIMARY KEY,
        run_id         text NOT NULL REFERENCES settlement_runs (id),
        merchant_id    text NOT NULL,
        currency       text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
        status         text NOT NULL CHECK (status IN ('posting', 'settled')),
        attempt        integer NOT NULL CHECK (attempt >= 1),
        count          integer NOT NULL CHECK (count >= 0),
        gross          bigint NOT NULL CHECK (gross >= 0),
        refunds        bigint NOT NULL CHECK (refunds >= 0),
        fees           bigint NOT NULL CHECK (fees >= 0),
        net            bigint NOT NULL,
        fees_owed_in   bigint NOT NULL CHECK (fees_owed_in >= 0),
        fees_collected bigint NOT NULL CHECK (fees_collected >= 0),
        fees_owed_out  bigint NOT NULL CHECK (fees_owed_out >= 0),
        to_available   bigint NOT NULL CHECK (to_available >= 0),
        payout_id      text,
        created_at     timestamptz NOT NULL DEFAULT now(),
        UNIQUE (run_id, merchant_id, currency),
        CHECK (net = gross - refunds - fees),
        CHECK (fees_collected + fees_owed_out = fees + fees_owed_in)
      )`);
    await runner.query(
      `CREATE INDEX settlements_merchant_page_idx ON settlements (merchant_id, created_at DESC, id DESC)`,
    );
    await runner.query(`
      CREATE TABLE settlement_items (
        transfer_id   text PRIMARY KEY,
        settlement_id text NOT NULL REFERENCES settlements (id) ON DELETE CASCADE,
        kind          text NOT NULL CHECK (kind IN ('payment', 'refund')),
        object_id     text NOT NULL,
        amount        bigint NOT NULL CHECK (amount > 0),
        fee           bigint NOT NULL CHECK (fee >= 0 AND fee <= amount),
        funded_from   text NOT NULL CHECK (funded_from IN ('pending', 'available')),
        posted_at     timestamptz NOT NULL,
        CHECK (kind = 'payment' OR fee = 0)
      )`);
    await runner.query(
      `CREATE INDEX settlement_items_report_idx ON settlement_items (settlement_id, posted_at, transfer_id)`,
    );
    await runner.query(`
      CREATE TABLE settlement_fee_debts (
        merchant_id text NOT NULL,
        currency    text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
        owed        bigint NOT NULL CHECK (owed >= 0),
        updated_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (merchant_id, currency)
      )`);
    await runner.query(`
      CREATE TABLE payouts (
        id            text PRIMARY KEY,
        merchant_id   text NOT NULL,
        currency      text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
        amount        bigint NOT NULL CHECK (amount > 0),
        status        text NOT NULL CHECK (status IN ('pending', 'paid', 'failed')),
        settlement_id text NOT NULL UNIQUE REFERENCES settlements (id),
        failure_code  text,
        created_at    timestamptz NOT NULL DEFAULT now(),
        updated_at    timestamptz NOT NULL DEFAULT now(),
        CHECK ((status = 'failed') = (failure_code IS NOT NULL))
      )`);
    await runner.query(
      `CREATE INDEX payouts_merchant_page_idx ON payouts (merchant_id, created_at DESC, id DESC)`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE payouts`);
    await runner.query(`DROP TABLE settlement_fee_debts`);
    await runner.query(`DROP TABLE settlement_items`);
    await runner.query(`DROP TABLE settlements`);
    await runner.query(`DROP TABLE settlement_run_merchants`);
    await runner.query(`DROP TABLE settlement_runs`);
  }
}
