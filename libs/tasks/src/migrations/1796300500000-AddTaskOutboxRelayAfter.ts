import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When the outbox relay may send a row (`relay_after`). A row its writer publishes itself
 * right after the commit (`CommittedOutbox`) is the writer's for a grace period, so the
 * writer needs no transaction to claim it: it publishes from memory and marks the row sent
 * in one statement, and the relay sends the row only if the writer did not (it crashed, or
 * handed the row over when its publish failed). Every other row is the relay's at once
 * (the default). Rows written before this migration are the relay's.
 */
export class AddTaskOutboxRelayAfter1796300500000 implements MigrationInterface {
  name = 'AddTaskOutboxRelayAfter1796300500000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(
      `ALTER TABLE task_outbox ADD COLUMN relay_after timestamptz NOT NULL DEFAULT now()`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE task_outbox DROP COLUMN relay_after`);
  }
}
