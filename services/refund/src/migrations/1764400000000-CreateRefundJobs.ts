import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The refund service's own state: one row per refund it processes, so a redelivered
 * task knows how far the refund got and its outcome is recorded (and announced to the
 * gateway through the outbox) exactly once.
 */
export class CreateRefundJobs1764400000000 implements MigrationInterface {
  name = 'CreateRefundJobs1764400000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE refund_jobs (
        refund_id           text PRIMARY KEY,
        payment_id          text NOT NULL,
        merchant_id         text NOT NULL,
        amount              bigint NOT NULL CHECK (amount > 0),
        currency            text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
        status              text NOT NULL CHECK (status IN ('processing', 'succeeded', 'failed')),
        funded_from         text CHECK (funded_from IN ('pending', 'available')),
        failure_reason      text,
        processor_refund_id text,
        created_at          timestamptz NOT NULL DEFAULT now(),
        updated_at          timestamptz NOT NULL DEFAULT now(),
        CHECK ((status = 'failed') = (failure_reason IS NOT NULL))
      )`);
    await runner.query(`CREATE INDEX refund_jobs_payment_idx ON refund_jobs (payment_id)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE refund_jobs`);
  }
}
