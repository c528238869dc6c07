import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Workflows (canvas): the chord join counter and its dedupe table, the position of a
 * group member in `task_results`, and the indexes the workflow tree reads by.
 */
export class CreateTaskCanvas1796300000000 implements MigrationInterface {
  name = 'CreateTaskCanvas1796300000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE task_results ADD COLUMN group_index integer`);
    await runner.query(`CREATE INDEX task_results_root_idx ON task_results (root_id)`);
    await runner.query(
      `CREATE INDEX task_results_parent_idx ON task_results (parent_id) WHERE parent_id IS NOT NULL`,
    );
    // One row per chord, written by the producer before any member is published; the
    // members advance `done` in their own transactions, the last one sends the callback.
    await runner.query(`
      CREATE TABLE task_chords (
        id          text PRIMARY KEY,
        size        integer NOT NULL CHECK (size > 0),
        done        integer NOT NULL DEFAULT 0 CHECK (done >= 0 AND done <= size),
        callback    jsonb NOT NULL,
        state       text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'fired', 'failed')),
        root_id     text,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now(),
        fired_at    timestamptz
      )`);
    // A member is counted once, whatever redelivers, retries or replays it.
    await runner.query(`
      CREATE TABLE task_chord_members (
        chord_id     text NOT NULL REFERENCES task_chords (id) ON DELETE CASCADE,
        member_index integer NOT NULL CHECK (member_index >= 0),
        PRIMARY KEY (chord_id, member_index)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE task_chord_members`);
    await runner.query(`DROP TABLE task_chords`);
    await runner.query(`DROP INDEX task_results_parent_idx`);
    await runner.query(`DROP INDEX task_results_root_idx`);
    await runner.query(`ALTER TABLE task_results DROP COLUMN group_index`);
  }
}
