import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ensureServiceRolesSql, grantSql, OWN_TABLE_PRIVILEGES } from '@clearline/persistence';

/**
 * Every service's role works the task layer's tables (results, inbox, outbox, canvas,
 * control, schedules) and reads the migration records its start-up check compares.
 */
export class GrantTaskTables1796300400000 implements MigrationInterface {
  name = 'GrantTaskTables1796300400000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(ensureServiceRolesSql());
    const tables = [
      'task_results',
      'task_inbox',
      'task_outbox',
      'task_chords',
      'task_chord_members',
      'task_revocations',
      'task_rate_limits',
      'task_schedules',
      'task_schedule_slots',
    ];
    await runner.query(
      grantSql(OWN_TABLE_PRIVILEGES, tables, ['gateway', 'ledger', 'refund', 'settlement']),
    );
    await runner.query(
      `GRANT USAGE, SELECT ON SEQUENCE task_outbox_id_seq TO clearline_gateway, clearline_ledger, clearline_refund, clearline_settlement`,
    );
    await runner.query(
      grantSql(['SELECT'], ['migrations'], ['gateway', 'ledger', 'refund', 'settlement']),
    );
    // The start-up check's own table, when it exists yet (else the check grants as it makes it).
    await runner.query(
      `DO $$ BEGIN IF to_regclass('migration_checksums') IS NOT NULL THEN ${grantSql(['SELECT'], ['migration_checksums'], ['gateway', 'ledger', 'refund', 'settlement'])}; END IF; END $$`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(
      `REVOKE ALL ON task_results, task_inbox, task_outbox, task_chords, task_chord_members, task_revocations, task_rate_limits, task_schedules, task_schedule_slots, task_outbox_id_seq, migrations FROM clearline_gateway, clearline_ledger, clearline_refund, clearline_settlement`,
    );
  }
}
