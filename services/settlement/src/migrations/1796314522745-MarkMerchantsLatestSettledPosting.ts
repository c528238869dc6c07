import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ensureServiceRolesSql, grantSql, OWN_TABLE_PRIVILEGES } from '@clearline/persistence';

/**
 * Per merchant, the latest `posted_at` of any posting a settlement ever took (raised by
 * every claim, in its statement, never lowered). A posting of the merchant posted after
 * it cannot be settled yet, so a claim probes `settlement_items` only for postings at or
 * before it (late commits, a claim undone, what a capped run left): the probe was ~70%
 * of a claim's cost. Backfilled from the items settled so far.
 */
export class MarkMerchantsLatestSettledPosting1796314522745 implements MigrationInterface {
  name = 'MarkMerchantsLatestSettledPosting1796314522745';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE settlement_merchant_marks (
        merchant_id   text PRIMARY KEY,
        posted_at_max timestamptz NOT NULL,
        updated_at    timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`
      INSERT INTO settlement_merchant_marks (merchant_id, posted_at_max)
      SELECT s.merchant_id, max(i.posted_at)
        FROM settlement_items i JOIN settlements s ON s.id = i.settlement_id
       GROUP BY s.merchant_id`);
    await runner.query(ensureServiceRolesSql());
    await runner.query(
      grantSql(OWN_TABLE_PRIVILEGES, ['settlement_merchant_marks'], ['settlement']),
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE settlement_merchant_marks`);
  }
}
