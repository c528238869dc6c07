import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { LedgerCheckResult } from '@clearline/contracts';
import type { DataSource, EntityManager } from 'typeorm';

interface TotalsRow {
  currency: string;
  debits: string;
  credits: string;
  debits_pending: string;
  credits_pending: string;
}

interface DriftRow {
  id: string;
  field: 'debitsPending' | 'debitsPosted' | 'creditsPending' | 'creditsPosted';
  stored: string;
  summed: string;
}

/**
 * Each statement of the check may run this long (the pool's default is shorter): a
 * check reads every transfer. Under the gateway's 30 s wait for the check, so the ledger
 * stops work that nobody waits for any more.
 */
export const LEDGER_CHECK_STATEMENT_TIMEOUT_MS = 25_000;

/** What each account's balances must be, from its transfers alone. */
const DRIFT_SQL = `
  WITH postings AS (
    SELECT t.debit_account_id AS account_id,
           CASE WHEN t.pending AND p.status = 'pending' THEN t.amount ELSE 0 END AS debits_pending,
           CASE WHEN NOT t.pending AND NOT t.void_pending THEN t.amount ELSE 0 END AS debits_posted,
           0 AS credits_pending, 0 AS credits_posted
      FROM ledger_transfers t LEFT JOIN ledger_pending_transfers p ON p.id = t.id
    UNION ALL
    SELECT t.credit_account_id, 0, 0,
           CASE WHEN t.pending AND p.status = 'pending' THEN t.amount ELSE 0 END,
           CASE WHEN NOT t.pending AND NOT t.void_pending THEN t.amount ELSE 0 END
      FROM ledger_transfers t LEFT JOIN ledger_pending_transfers p ON p.id = t.id
  ), sums AS (
    SELECT account_id, sum(debits_pending) AS debits_pending, sum(debits_posted) AS debits_posted,
           sum(credits_pending) AS credits_pending, sum(credits_posted) AS credits_posted
      FROM postings GROUP BY account_id
  ), compared AS (
    SELECT a.id, f.field, f.stored, f.summed
      FROM ledger_accounts a LEFT JOIN sums s ON s.account_id = a.id,
           LATERAL (VALUES
             ('debitsPending', a.debits_pending::numeric, coalesce(s.debits_pending, 0)),
             ('debitsPosted', a.debits_posted::numeric, coalesce(s.debits_posted, 0)),
             ('creditsPending', a.credits_pending::numeric, coalesce(s.credits_pending, 0)),
             ('creditsPosted', a.credits_posted::numeric, coalesce(s.credits_posted, 0))
           ) AS f(field, stored, summed)
  )
  SELECT id, field, stored::text, summed::text FROM compared
   WHERE stored <> summed ORDER BY id, field`;

/**
 * Every invariant of the ledger, over all of it, in one snapshot: per currency the
 * debits equal the credits, each account's balances equal the sum of its transfers,
 * no balance flag is violated. Messages read as ledger-core's `checkLedger` writes them.
 */
@Injectable()
export class LedgerCheckRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  check(): Promise<LedgerCheckResult> {
    return this.dataSource.transaction('REPEATABLE READ', (manager) => this.checkIn(manager));
  }

  private async checkIn(manager: EntityManager): Promise<LedgerCheckResult> {
    await manager.query('SET TRANSACTION READ ONLY');
    // Each statement reads the whole ledger: more than the pool's default deadline.
    await manager.query(`SET LOCAL statement_timeout = ${LEDGER_CHECK_STATEMENT_TIMEOUT_MS}`);
    const totals: TotalsRow[] = await manager.query(
      `SELECT currency, sum(debits_posted)::text AS debits, sum(credits_posted)::text AS credits,
              sum(debits_pending)::text AS debits_pending,
              sum(credits_pending)::text AS credits_pending
         FROM ledger_accounts GROUP BY currency ORDER BY currency`,
    );
    const drift: DriftRow[] = await manager.query(DRIFT_SQL);
    const flagged: { id: string; kind: 'debits exceed credits' | 'credits exceed debits' }[] =
      await manager.query(
        `SELECT id, 'debits exceed credits' AS kind FROM ledger_accounts
          WHERE debits_must_not_exceed_credits AND debits_pending + debits_posted > credits_posted
         UNION ALL
         SELECT id, 'credits exceed debits' FROM ledger_accounts
          WHERE credits_must_not_exceed_debits AND credits_pending + credits_posted > debits_posted
         ORDER BY id`,
      );
    const dangling: { id: string }[] = await manager.query(
      `SELECT t.id FROM ledger_transfers t
        WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.id = t.debit_account_id)
           OR NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.id = t.credit_account_id)
        ORDER BY t.id LIMIT 100`,
    );
    const violations = [
      ...dangling.map((d) => `transfer ${d.id}: names an account that does not exist`),
      ...drift.map(
        (d) => `account ${d.id}: ${d.field} is ${d.stored} but its transfers sum to ${d.summed}`,
      ),
      ...flagged.map((f) => `account ${f.id}: ${f.kind}`),
      ...totals.flatMap((t) => [
        ...(t.debits === t.credits
          ? []
          : [`${t.currency}: posted debits ${t.debits} != credits ${t.credits}`]),
        ...(t.debits_pending === t.credits_pending
          ? []
          : [`${t.currency}: pending debits ${t.debits_pending} != credits ${t.credits_pending}`]),
      ]),
    ];
    return {
      object: 'ledger_check',
      balanced: violations.length === 0,
      currencies: totals.map((t) => ({
        currency: t.currency,
        debits: t.debits,
        credits: t.credits,
      })),
      violations,
    };
  }
}
