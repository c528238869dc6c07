import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ensureServiceRolesSql, grantSql, OWN_TABLE_PRIVILEGES } from '@clearline/persistence';

/**
 * The gateway's role works its own tables; settlement reads merchants (their pricing).
 */
export class GrantGatewayTables1796300420000 implements MigrationInterface {
  name = 'GrantGatewayTables1796300420000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(ensureServiceRolesSql());
    const tables = [
      'merchants',
      'api_keys',
      'payments',
      'refunds',
      'idempotency_keys',
      'events',
      'webhook_attempts',
      'reconciliations',
      'reconciliation_exceptions',
    ];
    await runner.query(grantSql(OWN_TABLE_PRIVILEGES, tables, ['gateway']));
    await runner.query(grantSql(['SELECT'], ['merchants'], ['settlement']));
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(
      `REVOKE ALL ON merchants, api_keys, payments, refunds, idempotency_keys, events, webhook_attempts, reconciliations, reconciliation_exceptions FROM clearline_gateway, clearline_settlement`,
    );
  }
}
