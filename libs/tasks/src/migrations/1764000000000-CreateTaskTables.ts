import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateTaskTables1764000000000 implements MigrationInterface {
  name = 'CreateTaskTables1764000000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE task_results (
        id            text PRIMARY KEY,
        task          text NOT NULL,
        queue         text,
        state         text NOT NULL CHECK (state IN
                        ('PENDING','RECEIVED','STARTED','RETRY','SUCCESS','FAILURE','REVOKED')),
        result        jsonb,
        error_type    text,
        error_message text,
        traceback     text,
        retries       integer NOT NULL DEFAULT 0 CHECK (retries >= 0),
        root_id       text,
        parent_id     text,
        group_id      text,
        worker        text,
        created_at    timestamptz NOT NULL DEFAULT now(),
        started_at    timestamptz,
        date_done     timestamptz,
        updated_at    timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(
      `CREATE INDEX task_results_group_idx ON task_results (group_id) WHERE group_id IS NOT NULL`,
    );
    await runner.query(`CREATE INDEX task_results_state_idx ON task_results (state, updated_at)`);
    await runner.query(`
      CREATE TABLE task_inbox (
        task_id      text PRIMARY KEY,
        task         text NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`
      CREATE TABLE task_outbox (
        id           bigserial PRIMARY KEY,
        task_id      text NOT NULL,
        task         text NOT NULL,
        exchange     text NOT NULL,
        routing_key  text NOT NULL,
        body         bytea NOT NULL,
        properties   jsonb NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        sent_at      timestamptz,
        attempts     integer NOT NULL DEFAULT 0,
        last_error   text
      )`);
    await runner.query(
      `CREATE INDEX task_outbox_unsent_idx ON task_outbox (id) WHERE sent_at IS NULL`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE task_outbox`);
    await runner.query(`DROP TABLE task_inbox`);
    await runner.query(`DROP TABLE task_results`);
  }
}
