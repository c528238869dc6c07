import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Task control: revocations every worker honours, including workers started after the
 * revoke (kept until `expires_at`, the result-retention horizon), and the schedule of
 * each globally rate-limited task (the time its next slot is free).
 */
export class CreateTaskControl1796300100000 implements MigrationInterface {
  name = 'CreateTaskControl1796300100000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE task_revocations (
        task_id    text PRIMARY KEY,
        terminate  boolean NOT NULL DEFAULT false,
        reason     text,
        revoked_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
      )`);
    await runner.query(
      `CREATE INDEX task_revocations_expires_idx ON task_revocations (expires_at)`,
    );
    await runner.query(`
      CREATE TABLE task_rate_limits (
        task    text PRIMARY KEY,
        next_at timestamptz NOT NULL
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE task_rate_limits`);
    await runner.query(`DROP TABLE task_revocations`);
  }
}
