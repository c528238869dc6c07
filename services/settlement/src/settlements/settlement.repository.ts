import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { preparedStatement } from '@clearline/persistence';
import { ACCOUNT_CODES, type Pricing } from '@clearline/ledger-core';
import { TRANSFER_CODE } from '@clearline/contracts';
import type { PricingRow, RunMerchantRow, RunRow, SettlementRow } from './settlement.rows';

/** A settlement about to be written (its items are claimed already): totals and postings. */
export interface NewSettlement {
  id: string;
  currency: string;
  count: number;
  gross: bigint;
  refunds: bigint;
  fees: bigint;
  net: bigint;
  feesOwedIn: bigint;
  feesCollected: bigint;
  feesOwedOut: bigint;
  toAvailable: bigint;
}

/** A merchant's pending or available account that has moved. */
export interface MovedAccount {
  id: string;
  code: number;
  /** Lower case, as settlements name it. */
  currency: string;
}

/** What one settlement's claimed items add up to. */
export interface ClaimedSums {
  settlementId: string;
  /** Upper case, as ledger-core's totals name it. */
  currency: string;
  count: number;
  gross: bigint;
  refunds: bigint;
  fees: bigint;
  /** Refunds drawn on the pending account (the rest were drawn on available). */
  refundsFromPending: bigint;
}

interface ClaimedSumsRow {
  settlement_id: string;
  count: number;
  gross: string;
  refunds: string;
  fees: string;
  refunds_from_pending: string;
}

/**
 * The merchant's settleable postings up to the cut-off ($3): captures credited to its
 * pending accounts ($1), refunds posted from its pending or available accounts ($2). A
 * claim reads each twice: after the merchant's mark (`settlement_merchant_marks`: nothing
 * posted later has been settled, so no probe) and up to it (probed against
 * `settlement_items`).
 */
const SETTLEABLE_SQL = [
  `SELECT t.id AS transfer_id, 'payment' AS kind, t.amount, t.currency,
                  'pending' AS funded_from, t.created_at AS posted_at
             FROM ledger_transfers t
            WHERE t.credit_account_id = ANY($1::text[])
              AND t.code = ${TRANSFER_CODE.capture} AND t.post_pending AND t.created_at <= $3`,
  `SELECT t.id, 'refund', t.amount, t.currency,
                  CASE WHEN t.debit_account_id = ANY($1::text[]) THEN 'pending' ELSE 'available' END,
                  t.created_at
             FROM ledger_transfers t
            WHERE t.debit_account_id = ANY($2::text[])
              AND t.code = ${TRANSFER_CODE.refund} AND t.post_pending AND t.created_at <= $3`,
] as const;

/**
 * A payment's fee in SQL, as feeFor computes it (a property test holds the two equal):
 * `percentBps` of the amount rounded half up — floor((2 × amount × bps + 10,000) /
 * 20,000), in numeric so no amount up to AMOUNT_MAX overflows — plus `fixed`, capped at
 * the amount.
 */
export function FEE_SQL(amount: string, percentBps: string, fixed: string): string {
  return `LEAST(div(2 * ${amount}::numeric * ${percentBps} + 10000, 20000) + ${fixed}, ${amount})::bigint`;
}

const SETTLEMENT_COLUMNS = `id, run_id, merchant_id, currency, status, attempt, fees_owed_in,
  fees_collected, fees_owed_out, to_available, payout_id`;

/**
 * The SQL of settling one merchant. The settlement service owns its tables; it reads, and
 * never writes, the ledger's accounts and transfers (the postings it settles and the
 * balances it pays out) and the gateway's merchants (their pricing).
 */
@Injectable()
export class SettlementRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** One merchant at a time, whatever the runs: claims and their undoing never interleave. */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction('READ COMMITTED', async (manager) => {
      return work(manager);
    });
  }

  async lockMerchant(manager: EntityManager, merchantId: string): Promise<void> {
    await manager.query(
      preparedStatement(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`),
      [`clearline.settlement:${merchantId}`],
    );
  }

  async runMerchant(
    manager: EntityManager,
    runId: string,
    merchantId: string,
  ): Promise<(RunMerchantRow & Pick<RunRow, 'cut_off'>) | undefined> {
    const rows: (RunMerchantRow & Pick<RunRow, 'cut_off'>)[] = await manager.query(
      preparedStatement(`SELECT m.run_id, m.merchant_id, m.status, m.attempt, r.cut_off
         FROM settlement_run_merchants m JOIN settlement_runs r ON r.id = m.run_id
        WHERE m.run_id = $1 AND m.merchant_id = $2 FOR UPDATE OF m`),
      [runId, merchantId],
    );
    return rows[0];
  }

  async settlementsOf(
    manager: EntityManager,
    runId: string,
    merchantId: string,
  ): Promise<SettlementRow[]> {
    return manager.query(
      preparedStatement(`SELECT ${SETTLEMENT_COLUMNS} FROM settlements
        WHERE run_id = $1 AND merchant_id = $2 ORDER BY currency`),
      [runId, merchantId],
    );
  }

  /** The merchant's pending and available accounts that ever moved (one per currency used). */
  async movedAccounts(manager: EntityManager, merchantId: string): Promise<MovedAccount[]> {
    return manager.query(
      preparedStatement(`SELECT id, code, lower(currency) AS currency FROM ledger_accounts
        WHERE owner = $1 AND code IN ($2, $3) AND (credits_posted > 0 OR debits_posted > 0)`),
      [merchantId, ACCOUNT_CODES.merchantPending, ACCOUNT_CODES.merchantAvailable],
    );
  }

  /**
   * Claims, in one statement, the merchant's ledger postings up to the cut-off that no
   * settlement holds yet — captures credited to its pending accounts, refunds posted from
   * its pending or available accounts; at most `limit`, oldest first — as items of the
   * settlement of their currency (`settlementIds`, by lower-case currency), each payment
   * with its fee ({@link FEE_SQL}); returns each settlement's sums. Nothing crosses the
   * wire per item: a merchant of a million-payment day is ~1,000 items.
   *
   * The postings are read from the ledger's partial covering indexes of captures and
   * refunds (`ledger_transfers_captures_idx`, `…_refunds_idx`), the account ids passed
   * as arrays so the planner probes them per account; only those at or before the
   * merchant's mark are probed against `settlement_items` (SETTLEABLE_SQL), and the
   * statement raises the mark to its latest item. Whatever the mark says, an item is
   * never settled twice: `transfer_id` is the primary key. A posting in a currency with
   * no settlement id fails the statement (settlement_id is NOT NULL): never skipped.
   */
  async claimItems(
    manager: EntityManager,
    claim: {
      merchantId: string;
      accounts: readonly MovedAccount[];
      cutOff: Date;
      limit: number;
      pricing: Pricing;
      settlementIds: ReadonlyMap<string, string>;
    },
  ): Promise<ClaimedSums[]> {
    const pending = claim.accounts
      .filter((account) => account.code === ACCOUNT_CODES.merchantPending)
      .map((account) => account.id);
    if (pending.length === 0) return [];
    const rows: ClaimedSumsRow[] = await manager.query(
      preparedStatement(`WITH mark AS (
         SELECT coalesce(
                  (SELECT posted_at_max FROM settlement_merchant_marks WHERE merchant_id = $9),
                  '-infinity'::timestamptz) AS settled_to
       ), candidates AS (
         SELECT * FROM (
           ${SETTLEABLE_SQL.map(
             (branch) => `${branch}
              AND t.created_at > (SELECT settled_to FROM mark)
           UNION ALL
           ${branch}
              AND t.created_at <= (SELECT settled_to FROM mark)
              AND NOT EXISTS (SELECT 1 FROM settlement_items s WHERE s.transfer_id = t.id)`,
           ).join(`
           UNION ALL
           `)}
         ) items ORDER BY posted_at, transfer_id LIMIT $4
       ), inserted AS (
         INSERT INTO settlement_items
           (transfer_id, settlement_id, kind, object_id, amount, fee, funded_from, posted_at)
         SELECT c.transfer_id, ids.settlement_id, c.kind,
                CASE WHEN c.kind = 'payment' AND right(c.transfer_id, 8) = ':capture'
                       THEN left(c.transfer_id, -8)
                     WHEN c.kind = 'refund' AND right(c.transfer_id, 5) = ':post'
                       THEN left(c.transfer_id, -5)
                     ELSE c.transfer_id END,
                c.amount,
                CASE WHEN c.kind = 'payment' THEN ${FEE_SQL('c.amount', '$5::int', '$6::bigint')}
                     ELSE 0 END,
                c.funded_from, c.posted_at
           FROM candidates c
           LEFT JOIN unnest($7::text[], $8::text[]) AS ids (currency, settlement_id)
             ON ids.currency = lower(c.currency)
         RETURNING settlement_id, kind, amount, fee, funded_from, posted_at
       ), marked AS (
         INSERT INTO settlement_merchant_marks AS m (merchant_id, posted_at_max)
         SELECT $9, max(posted_at) FROM inserted HAVING count(*) > 0
         ON CONFLICT (merchant_id) DO UPDATE
           SET posted_at_max = greatest(m.posted_at_max, excluded.posted_at_max), updated_at = now()
       )
       SELECT settlement_id, count(*)::int AS count,
              coalesce(sum(amount) FILTER (WHERE kind = 'payment'), 0)::text AS gross,
              coalesce(sum(amount) FILTER (WHERE kind = 'refund'), 0)::text AS refunds,
              coalesce(sum(fee), 0)::text AS fees,
              coalesce(sum(amount) FILTER (WHERE kind = 'refund' AND funded_from = 'pending'), 0)::text
                AS refunds_from_pending
         FROM inserted GROUP BY settlement_id`),
      [
        pending,
        claim.accounts.map((account) => account.id),
        claim.cutOff,
        claim.limit,
        claim.pricing.percentBps,
        claim.pricing.fixed.toString(),
        [...claim.settlementIds.keys()],
        [...claim.settlementIds.values()],
        claim.merchantId,
      ],
    );
    const currencyOf = new Map([...claim.settlementIds].map(([currency, id]) => [id, currency]));
    return rows.map((row) => ({
      settlementId: row.settlement_id,
      // Every row's id is one of settlementIds: the statement inserts no other.
      currency: (currencyOf.get(row.settlement_id) ?? '').toUpperCase(),
      count: row.count,
      gross: BigInt(row.gross),
      refunds: BigInt(row.refunds),
      fees: BigInt(row.fees),
      refundsFromPending: BigInt(row.refunds_from_pending),
    }));
  }

  async pricing(manager: EntityManager, merchantId: string): Promise<PricingRow | undefined> {
    const rows: PricingRow[] = await manager.query(
      preparedStatement(`SELECT pricing_percent_bps, pricing_fixed FROM merchants WHERE id = $1`),
      [merchantId],
    );
    return rows[0];
  }

  /** Fees the merchant still owes, per lower-case currency. */
  async feeDebts(manager: EntityManager, merchantId: string): Promise<Map<string, bigint>> {
    const rows: { currency: string; owed: string }[] = await manager.query(
      preparedStatement(
        `SELECT currency, owed FROM settlement_fee_debts WHERE merchant_id = $1 AND owed > 0`,
      ),
      [merchantId],
    );
    return new Map(rows.map((row) => [row.currency, BigInt(row.owed)]));
  }

  /** Writes the settlements (status posting), their items, and what the merchant now owes. */
  async insertSettlements(
    manager: EntityManager,
    run: { runId: string; merchantId: string; attempt: number },
    settlements: readonly NewSettlement[],
  ): Promise<void> {
    for (const s of settlements) {
      await manager.query(
        preparedStatement(`INSERT INTO settlements (id, run_id, merchant_id, currency, status, attempt, count, gross,
           refunds, fees, net, fees_owed_in, fees_collected, fees_owed_out, to_available)
         VALUES ($1, $2, $3, $4, 'posting', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`),
        [
          s.id,
          run.runId,
          run.merchantId,
          s.currency,
          run.attempt,
          s.count,
          s.gross.toString(),
          s.refunds.toString(),
          s.fees.toString(),
          s.net.toString(),
          s.feesOwedIn.toString(),
          s.feesCollected.toString(),
          s.feesOwedOut.toString(),
          s.toAvailable.toString(),
        ],
      );
      await this.setFeeDebt(manager, run.merchantId, s.currency, s.feesOwedOut);
    }
  }

  private async setFeeDebt(
    manager: EntityManager,
    merchantId: string,
    currency: string,
    owed: bigint,
  ): Promise<void> {
    await manager.query(
      preparedStatement(`INSERT INTO settlement_fee_debts (merchant_id, currency, owed) VALUES ($1, $2, $3)
       ON CONFLICT (merchant_id, currency) DO UPDATE SET owed = EXCLUDED.owed, updated_at = now()`),
      [merchantId, currency, owed.toString()],
    );
  }

  /**
   * The ledger refused the postings: nothing moved, so the claim is undone (the items are
   * free for a later attempt, the fee debts as they were) and the merchant is failed.
   */
  async undoClaim(
    manager: EntityManager,
    runId: string,
    merchantId: string,
    failure: { code: string; message: string },
  ): Promise<void> {
    const undone: { currency: string; fees_owed_in: string }[] = await manager.query(
      preparedStatement(`WITH undone AS (
         DELETE FROM settlements WHERE run_id = $1 AND merchant_id = $2 AND status = 'posting'
         RETURNING id, currency, fees_owed_in),
       freed AS (DELETE FROM settlement_items WHERE settlement_id IN (SELECT id FROM undone))
       SELECT currency, fees_owed_in FROM undone`),
      [runId, merchantId],
    );
    for (const row of undone) {
      await this.setFeeDebt(manager, merchantId, row.currency, BigInt(row.fees_owed_in));
    }
    await this.failMerchant(manager, runId, merchantId, failure);
  }

  async failMerchant(
    manager: EntityManager,
    runId: string,
    merchantId: string,
    failure: { code: string; message: string },
  ): Promise<void> {
    await manager.query(
      preparedStatement(`UPDATE settlement_run_merchants
          SET status = 'failed', failure_code = $3, failure_message = left($4, 1000), updated_at = now()
        WHERE run_id = $1 AND merchant_id = $2 AND status = 'pending'`),
      [runId, merchantId, failure.code, failure.message],
    );
  }

  /** What the merchant can be paid in `currency` now: its available balance, less holds. */
  async availableBalance(manager: EntityManager, accountId: string): Promise<bigint> {
    const rows: { free: string }[] = await manager.query(
      preparedStatement(`SELECT credits_posted - debits_posted - debits_pending AS free
         FROM ledger_accounts WHERE id = $1`),
      [accountId],
    );
    return rows[0] === undefined ? 0n : BigInt(rows[0].free);
  }

  async markSettled(
    manager: EntityManager,
    settlementId: string,
    payoutId: string | null,
  ): Promise<void> {
    await manager.query(
      preparedStatement(`UPDATE settlements SET status = 'settled', payout_id = $2 WHERE id = $1`),
      [settlementId, payoutId],
    );
  }

  async insertPayout(
    manager: EntityManager,
    payout: {
      id: string;
      merchantId: string;
      currency: string;
      amount: bigint;
      settlementId: string;
    },
  ): Promise<void> {
    await manager.query(
      preparedStatement(`INSERT INTO payouts (id, merchant_id, currency, amount, status, settlement_id)
       VALUES ($1, $2, $3, $4, 'pending', $5)`),
      [
        payout.id,
        payout.merchantId,
        payout.currency,
        payout.amount.toString(),
        payout.settlementId,
      ],
    );
  }

  async merchantSettled(manager: EntityManager, runId: string, merchantId: string): Promise<void> {
    await manager.query(
      preparedStatement(`UPDATE settlement_run_merchants SET status = 'settled', updated_at = now()
        WHERE run_id = $1 AND merchant_id = $2`),
      [runId, merchantId],
    );
  }
}
