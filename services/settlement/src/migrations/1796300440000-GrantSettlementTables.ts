import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ensureServiceRolesSql, grantSql, OWN_TABLE_PRIVILEGES } from '@clearline/persistence';

/**
 * The settlement service's role works its own tables; the gateway reads them (the
 * settlement and payout API, the run's report, reconciliation).
 */
export class GrantSettlementTables1796300440000 implements MigrationInterface {
  name = 'GrantSettlementTables1796300440000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(ensureServiceRolesSql());
    const tables = [
      'settlement_runs',
      'settlement_run_merchants',
      'settlements',
      'settlement_items',
      'settlement_fee_debts',
      'payouts',
    ];
    await runner.query(grantSql(OWN_TABLE_PRIVILEGES, tables, ['settlement']));
    await runner.query(grantSql(['SELECT'], tables, ['gateway']));
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(
      `REVOKE ALL ON settlement_runs, settlement_run_merchants, settlements, settlement_items, settlement_fee_debts, payouts FROM clearline_settlement, clearline_gateway`,
    );
  }
}
