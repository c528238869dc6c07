import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Refunds as the merchant asked for them. The amount a refund takes is reserved on its
 * payment (`amount_refund_reserved`) in the transaction that creates it, so refunds in
 * flight count against what is still refundable; the outcome moves it to
 * `amount_refunded` (succeeded) or frees it (failed).
 */
export class CreateRefunds1764500000000 implements MigrationInterface {
  name = 'CreateRefunds1764500000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE refunds (
        id             text PRIMARY KEY,
        merchant_id    text NOT NULL REFERENCES merchants (id),
        payment_id     text NOT NULL REFERENCES payments (id),
        amount         bigint NOT NULL CHECK (amount > 0),
        currency       text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
        status         text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'canceled')),
        reason         text CHECK (reason IN ('duplicate', 'fraudulent', 'requested_by_customer')),
        failure_reason text,
        metadata       jsonb NOT NULL DEFAULT '{}',
        created_at     timestamptz NOT NULL DEFAULT now(),
        updated_at     timestamptz NOT NULL DEFAULT now(),
        CHECK ((status = 'failed') = (failure_reason IS NOT NULL))
      )`);
    await runner.query(
      `CREATE INDEX refunds_merchant_page_idx ON refunds (merchant_id, created_at DESC, id DESC)`,
    );
    await runner.query(
      `CREATE INDEX refunds_payment_page_idx ON refunds (payment_id, created_at DESC, id DESC)`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE refunds`);
  }
}
