import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Periodic tasks (beat) and retention: the schedules each scheduler group leads, one
 * row per slot sent (the slot's at-most-once guard), and the indexes the retention
 * sweep deletes by.
 */
export class CreateTaskSchedules1796300200000 implements MigrationInterface {
  name = 'CreateTaskSchedules1796300200000';

  async up(runner: QueryRunner): Promise<void> {
    // Written by a group's leader when it takes the lead: operators (and the CLI) list
    // every service's schedules from here; `last_slot` is where the next pass resumes.
    await runner.query(`
      CREATE TABLE task_schedules (
        scheduler     text NOT NULL,
        name          text NOT NULL,
        task          text NOT NULL,
        cron          text,
        timezone      text,
        every_ms      bigint CHECK (every_ms > 0),
        grace_ms      bigint NOT NULL CHECK (grace_ms >= 0),
        queue         text,
        leader        text,
        registered_at timestamptz NOT NULL DEFAULT now(),
        last_slot     timestamptz,
        last_sent_at  timestamptz,
        PRIMARY KEY (scheduler, name),
        CHECK ((cron IS NULL) <> (every_ms IS NULL))
      )`);
    // A slot is sent by whoever inserts its row; the task goes into the outbox in the
    // same statement, so a slot is sent at most once even by two leaders at once.
    await runner.query(`
      CREATE TABLE task_schedule_slots (
        scheduler  text NOT NULL,
        schedule   text NOT NULL,
        slot       timestamptz NOT NULL,
        task_id    text,
        claimed_by text NOT NULL,
        claimed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (scheduler, schedule, slot)
      )`);
    await runner.query(`CREATE INDEX task_schedule_slots_slot_idx ON task_schedule_slots (slot)`);
    // The retention sweep: finished results by age (unfinished ones are never swept and
    // stay out of the index), inbox rows by age.
    await runner.query(
      `CREATE INDEX task_results_date_done_idx ON task_results (date_done) WHERE date_done IS NOT NULL`,
    );
    await runner.query(`CREATE INDEX task_inbox_processed_at_idx ON task_inbox (processed_at)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP INDEX task_inbox_processed_at_idx`);
    await runner.query(`DROP INDEX task_results_date_done_idx`);
    await runner.query(`DROP TABLE task_schedule_slots`);
    await runner.query(`DROP TABLE task_schedules`);
  }
}
