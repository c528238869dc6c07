import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Reconciliations of a processor's settlement file against our payments and refunds.
 * `reconciliations` holds one row per distinct file: `file_sha256` is UNIQUE, so the
 * same file posted again (or twice at once) answers the first reconciliation and records
 * nothing new. `reconciliation_exceptions` holds every line that did not match and every
 * record of ours the file left out; `ordinal` is the order of the exceptions CSV (the
 * line number for a line, after the last line for a record missing in the file), so the
 * primary key serves that read.
 *
 * The partial indexes on `processor_reference` serve lookups of one reference (an
 * operator's question about a line); the reconciliation itself joins whole tables by
 * hash. Partial: most rows of an hour in flight have no reference yet, and the payment's
 * hot statements pay nothing for a row without one.
 */
export class CreateReconciliations1796280904875 implements MigrationInterface {
  name = 'CreateReconciliations1796280904875';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE reconciliations (
        id                text PRIMARY KEY,
        file_sha256       text NOT NULL UNIQUE CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
        lines             integer NOT NULL CHECK (lines >= 0),
        matched           integer NOT NULL CHECK (matched >= 0),
        missing_in_ours   integer NOT NULL CHECK (missing_in_ours >= 0),
        missing_in_file   integer NOT NULL CHECK (missing_in_file >= 0),
        amount_mismatch   integer NOT NULL CHECK (amount_mismatch >= 0),
        currency_mismatch integer NOT NULL CHECK (currency_mismatch >= 0),
        duplicate_in_file integer NOT NULL CHECK (duplicate_in_file >= 0),
        created_at        timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`
      CREATE TABLE reconciliation_exceptions (
        reconciliation_id   text NOT NULL REFERENCES reconciliations (id) ON DELETE CASCADE,
        ordinal             bigint NOT NULL,
        line                integer,
        kind                text NOT NULL CHECK (kind IN ('missing_in_ours', 'missing_in_file',
                              'amount_mismatch', 'currency_mismatch', 'duplicate_in_file')),
        processor_reference text NOT NULL,
        type                text NOT NULL CHECK (type IN ('charge', 'refund')),
        amount              bigint,
        currency            text,
        date                date,
        object_id           text,
        our_amount          bigint,
        our_currency        text,
        PRIMARY KEY (reconciliation_id, ordinal),
        CHECK ((kind = 'missing_in_file') = (line IS NULL))
      )`);
    await runner.query(
      `CREATE INDEX payments_processor_reference_idx ON payments (processor_reference)
        WHERE processor_reference IS NOT NULL`,
    );
    await runner.query(
      `CREATE INDEX refunds_processor_reference_idx ON refunds (processor_reference)
        WHERE processor_reference IS NOT NULL`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP INDEX refunds_processor_reference_idx`);
    await runner.query(`DROP INDEX payments_processor_reference_idx`);
    await runner.query(`DROP TABLE reconciliation_exceptions`);
    await runner.query(`DROP TABLE reconciliations`);
  }
}
