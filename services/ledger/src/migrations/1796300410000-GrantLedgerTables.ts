import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ensureServiceRolesSql, grantSql } from '@clearline/persistence';

/**
 * The ledger's role: transfers are immutable, so it may only insert and read them (a
 * posted transfer can never be changed or removed, whatever the code does); accounts and
 * pending transfers it also updates. Settlement reads the postings and balances it settles.
 */
export class GrantLedgerTables1796300410000 implements MigrationInterface {
  name = 'GrantLedgerTables1796300410000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(ensureServiceRolesSql());
    await runner.query(grantSql(['SELECT', 'INSERT'], ['ledger_transfers'], ['ledger']));
    await runner.query(
      grantSql(
        ['SELECT', 'INSERT', 'UPDATE'],
        ['ledger_accounts', 'ledger_pending_transfers'],
        ['ledger'],
      ),
    );
    await runner.query(
      grantSql(
        ['SELECT'],
        ['ledger_transfers', 'ledger_accounts', 'ledger_pending_transfers'],
        ['settlement'],
      ),
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(
      `REVOKE ALL ON ledger_transfers, ledger_accounts, ledger_pending_transfers FROM clearline_ledger, clearline_settlement`,
    );
  }
}
