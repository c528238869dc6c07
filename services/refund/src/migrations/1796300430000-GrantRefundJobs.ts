import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ensureServiceRolesSql, grantSql, OWN_TABLE_PRIVILEGES } from '@clearline/persistence';

/**
 * The refund service's role works its own table.
 */
export class GrantRefundJobs1796300430000 implements MigrationInterface {
  name = 'GrantRefundJobs1796300430000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(ensureServiceRolesSql());
    await runner.query(grantSql(OWN_TABLE_PRIVILEGES, ['refund_jobs'], ['refund']));
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`REVOKE ALL ON refund_jobs FROM clearline_refund`);
  }
}
