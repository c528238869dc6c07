import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each outbox row names the broker user of the process that wrote it (`sender`), and
 * only a process of that user relays it: a task's `user_id` is then the service that
 * decided to send it, never whichever service's relay swept the shared table first
 * (`@Task(name, { senders })` trusts it). Rows written before this migration have no
 * sender (`''`) and any relay sends them. The unsent rows are found per sender, in order.
 */
export class AddTaskOutboxSender1796300300000 implements MigrationInterface {
  name = 'AddTaskOutboxSender1796300300000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE task_outbox ADD COLUMN sender text NOT NULL DEFAULT ''`);
    await runner.query(
      `CREATE INDEX task_outbox_unsent_sender_idx ON task_outbox (sender, id) WHERE sent_at IS NULL`,
    );
    await runner.query(`DROP INDEX task_outbox_unsent_idx`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(
      `CREATE INDEX task_outbox_unsent_idx ON task_outbox (id) WHERE sent_at IS NULL`,
    );
    await runner.query(`DROP INDEX task_outbox_unsent_sender_idx`);
    await runner.query(`ALTER TABLE task_outbox DROP COLUMN sender`);
  }
}
