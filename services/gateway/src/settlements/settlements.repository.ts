import { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import type { PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { DataSource, type EntityManager } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { paginate, type Page, type PageRequest } from '@clearline/persistence';
import type { Payout, Settlement, SettlementRun } from './settlement.model';
import {
  PAYOUT_COLUMNS,
  RUN_COLUMNS,
  SETTLEMENT_COLUMNS,
  toPayout,
  toSettlement,
  toSettlementRun,
  type PayoutRow,
  type SettlementRow,
  type SettlementRunRow,
} from './settlement.rows';

type Queryable = Pick<EntityManager, 'query'>;

/**
 * The longest a report's statements may run (its COPY streams while the client reads,
 * so a slow reader holds it): a report of a million items is read in seconds.
 */
export const REPORT_STATEMENT_TIMEOUT_MS = 300_000;

/** The report's header, and the columns of each line (README: Settlements). */
export const REPORT_HEADER = 'type,id,posted_at,amount,fee,net,currency\n';

/**
 * Payouts a merchant may see: those of a settlement that is settled (a settlement still
 * `posting` is not shown, nor is what it pays). A derived table, so keyset pages read it
 * like a table (its `id` and `created_at` are the payout's).
 */
const VISIBLE_PAYOUTS = `(SELECT p.* FROM payouts p
  JOIN settlements s ON s.id = p.settlement_id AND s.status = 'settled') AS visible_payouts`;

/** A settlement's report: the settlement (its totals) and its CSV lines, streamed. */
export interface SettlementReport {
  settlement: Settlement;
  /** The header, one line per item, then the totals line; ends the read when destroyed. */
  lines: Readable;
}

/**
 * The gateway's reads of settlement. READ ONLY: the tables (`settlement_runs`,
 * `settlements`, `settlement_items`, `payouts`, …) belong to the settlement service,
 * which writes them and owns their migrations; the gateway shows them to merchants and
 * operators and never writes them. Every read for a merchant is filtered by the merchant,
 * and a settlement is visible only once `settled` (while `posting` it is not yet final).
 */
@Injectable()
export class SettlementsRepository {
  constructor(private readonly dataSource: DataSource) {}

  async findRun(id: string): Promise<SettlementRun | undefined> {
    const rows = await this.dataSource.query<SettlementRunRow[]>(
      `SELECT ${RUN_COLUMNS} FROM settlement_runs WHERE id = $1`,
      [id],
    );
    return rows[0] && toSettlementRun(rows[0]);
  }

  async findSettlement(
    merchantId: string,
    id: string,
    db: Queryable = this.dataSource,
  ): Promise<Settlement | undefined> {
    const rows = await db.query<SettlementRow[]>(
      `SELECT ${SETTLEMENT_COLUMNS} FROM settlements
        WHERE merchant_id = $1 AND id = $2 AND status = 'settled'`,
      [merchantId, id],
    );
    return rows[0] && toSettlement(rows[0]);
  }

  /** A page of the merchant's settled settlements, newest first. */
  async listSettlements(merchantId: string, request: PageRequest): Promise<Page<Settlement>> {
    const page = await paginate<SettlementRow>(
      this.dataSource,
      {
        table: 'settlements',
        columns: SETTLEMENT_COLUMNS,
        where: { merchant_id: merchantId, status: 'settled' },
      },
      request,
    );
    return { items: page.items.map(toSettlement), hasMore: page.hasMore };
  }

  async findPayout(
    merchantId: string,
    id: string,
    db: Queryable = this.dataSource,
  ): Promise<Payout | undefined> {
    const rows = await db.query<PayoutRow[]>(
      `SELECT ${PAYOUT_COLUMNS} FROM ${VISIBLE_PAYOUTS} WHERE merchant_id = $1 AND id = $2`,
      [merchantId, id],
    );
    return rows[0] && toPayout(rows[0]);
  }

  /** A page of the merchant's payouts, newest first. */
  async listPayouts(merchantId: string, request: PageRequest): Promise<Page<Payout>> {
    const page = await paginate<PayoutRow>(
      this.dataSource,
      { table: VISIBLE_PAYOUTS, columns: PAYOUT_COLUMNS, where: { merchant_id: merchantId } },
      request,
    );
    return { items: page.items.map(toPayout), hasMore: page.hasMore };
  }

  /**
   * The merchant's settled settlement `id` and its report, or undefined. One read-only
   * REPEATABLE READ transaction on a connection of its own: the settlement (the totals
   * line) and its items are one snapshot. The items are streamed by COPY as the client
   * reads them (the socket's backpressure stops the server's output), never held whole;
   * the connection is released when the stream ends, fails or is destroyed (a client
   * that goes away), and dropped from the pool unless the COPY finished cleanly.
   */
  async openReport(merchantId: string, id: string): Promise<SettlementReport | undefined> {
    const driver = this.dataSource.driver as PostgresDriver;
    const [client, releaseClient] = (await driver.obtainMasterConnection()) as [
      PoolClient,
      (destroy?: boolean | Error) => void,
    ];
    let released = false;
    const release = (clean: boolean): void => {
      if (released) return;
      released = true;
      releaseClient(clean ? undefined : true);
    };
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await client.query(`SET LOCAL statement_timeout = ${REPORT_STATEMENT_TIMEOUT_MS}`);
      const settlement = await this.findSettlement(merchantId, id, {
        query: async <T>(sql: string, parameters?: unknown[]) =>
          (await client.query(sql, parameters)).rows as T,
      });
      if (!settlement) {
        await client.query('ROLLBACK');
        release(true);
        return undefined;
      }
      const lines = Readable.from(reportLines(client, settlement, release));
      // A stream destroyed before it was first read never runs the generator's `finally`.
      lines.once('close', () => release(false));
      return { settlement, lines };
    } catch (error) {
      release(false);
      throw error;
    }
  }
}

/** The header, the items as COPY writes them, then the totals line; releases `client` at the end. */
async function* reportLines(
  client: PoolClient,
  settlement: Settlement,
  release: (clean: boolean) => void,
): AsyncGenerator<Buffer | string> {
  let clean = false;
  try {
    yield REPORT_HEADER;
    // COPY takes no bind parameters: the id and currency are the settlement row's own,
    // quoted as literals.
    const currency = client.escapeLiteral(settlement.currency);
    const items = client.query(
      copyTo(`COPY (
        SELECT kind, object_id,
               to_char(posted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
               amount, fee,
               CASE WHEN kind = 'payment' THEN amount - fee ELSE -amount END,
               ${currency}
          FROM settlement_items WHERE settlement_id = ${client.escapeLiteral(settlement.id)}
         ORDER BY posted_at, transfer_id
      ) TO STDOUT WITH (FORMAT csv)`),
    );
    for await (const chunk of items) yield chunk as Buffer;
    await client.query('COMMIT');
    clean = true;
    yield totalsLine(settlement);
  } finally {
    release(clean);
  }
}

/** `total,<settlement id>,,<gross − refunds>,<fees>,<net>,<currency>`: what the items add up to. */
export function totalsLine(settlement: Settlement): string {
  const amount = settlement.gross - settlement.refunds;
  return `total,${settlement.id},,${amount},${settlement.fees},${settlement.net},${settlement.currency}\n`;
}
