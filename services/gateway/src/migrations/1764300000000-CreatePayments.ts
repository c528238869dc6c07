import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Payments. Amounts are bigint minor units. `status` holds the API's statuses plus two
 * transitional ones, `capturing` and `canceling` (a capture or cancel task is on its
 * way; the API shows them as `processing`); every change of status is a conditional
 * UPDATE from the expected status, so a redelivered task cannot apply twice.
 *
 * Refunds (a later issue) reserve what they take in `amount_refund_reserved` with one
 * conditional UPDATE, and move it to `amount_refunded` when they succeed; the CHECK
 * makes "never refund more than was captured" hold under any concurrency.
 */
export class CreatePayments1764300000000 implements MigrationInterface {
  name = 'CreatePayments1764300000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE payments (
        id                     text PRIMARY KEY,
        merchant_id            text NOT NULL REFERENCES merchants (id),
        amount                 bigint NOT NULL CHECK (amount > 0),
        currency               text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
        status                 text NOT NULL CHECK (status IN ('processing', 'requires_capture',
                                 'capturing', 'canceling', 'succeeded', 'canceled', 'failed')),
        capture_method         text NOT NULL CHECK (capture_method IN ('automatic', 'manual')),
        amount_capturable      bigint NOT NULL DEFAULT 0 CHECK (amount_capturable >= 0),
        amount_captured        bigint NOT NULL DEFAULT 0 CHECK (amount_captured >= 0),
        amount_refunded        bigint NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0),
        amount_refund_reserved bigint NOT NULL DEFAULT 0 CHECK (amount_refund_reserved >= 0),
        source                 text NOT NULL,
        description            text,
        metadata               jsonb NOT NULL DEFAULT '{}',
        failure_code           text,
        failure_message        text,
        created_at             timestamptz NOT NULL DEFAULT now(),
        updated_at             timestamptz NOT NULL DEFAULT now(),
        CHECK (amount_capturable <= amount),
        CHECK (amount_captured <= amount),
        CHECK (amount_refunded + amount_refund_reserved <= amount_captured),
        CHECK ((status = 'failed') = (failure_code IS NOT NULL))
      )`);
    await runner.query(
      `CREATE INDEX payments_merchant_page_idx ON payments (merchant_id, created_at DESC, id DESC)`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE payments`);
  }
}
