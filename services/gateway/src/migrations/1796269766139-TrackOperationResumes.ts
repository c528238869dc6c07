import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the sweeper (recovery/) needs to resume operations that stay in flight:
 * - `resume_count` and `resumed_at` on payments and refunds: how many times the current
 *   operation was resumed and when last, so each resume round sends a task with a new
 *   id (`pay_…:capture:resume:<n>`) and the rounds are bounded. A status change resets
 *   them (the next operation starts afresh).
 * - `amount_to_capture` on payments: what the pending capture asked for (it lived only
 *   in the task's payload), so a resumed capture captures the same amount.
 * - Partial indexes over what is in flight, oldest first: the sweeper's batches, the
 *   metric read on scrape and the admin list touch only those rows.
 */
export class TrackOperationResumes1796269766139 implements MigrationInterface {
  name = 'TrackOperationResumes1796269766139';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE payments
        ADD COLUMN amount_to_capture bigint CHECK (amount_to_capture > 0),
        ADD COLUMN resume_count integer NOT NULL DEFAULT 0 CHECK (resume_count >= 0),
        ADD COLUMN resumed_at timestamptz`);
    await runner.query(`
      ALTER TABLE refunds
        ADD COLUMN resume_count integer NOT NULL DEFAULT 0 CHECK (resume_count >= 0),
        ADD COLUMN resumed_at timestamptz`);
    await runner.query(`
      CREATE INDEX payments_in_flight_idx ON payments (created_at, id)
       WHERE status IN ('processing', 'capturing', 'canceling')`);
    await runner.query(
      `CREATE INDEX refunds_in_flight_idx ON refunds (created_at, id) WHERE status = 'pending'`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP INDEX refunds_in_flight_idx`);
    await runner.query(`DROP INDEX payments_in_flight_idx`);
    await runner.query(`ALTER TABLE refunds DROP COLUMN resume_count, DROP COLUMN resumed_at`);
    await runner.query(
      `ALTER TABLE payments DROP COLUMN amount_to_capture, DROP COLUMN resume_count,
         DROP COLUMN resumed_at`,
    );
  }
}
