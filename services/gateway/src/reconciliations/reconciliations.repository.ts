import { Injectable } from '@nestjs/common';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { DataSource } from 'typeorm';
import type { Reconciliation } from './reconciliation.model';
import {
  RECONCILIATION_COLUMNS,
  toReconciliation,
  type ReconciliationRow,
} from './reconciliation.rows';

/**
 * The longest a statement of a reconciliation or a CSV answer may run. The COPY of an
 * upload lasts as long as the upload, and a CSV answer as long as its reader: this is
 * also their deadline (the pool's default, 15 s, would cut a large file short).
 */
export const RECONCILIATION_STATEMENT_TIMEOUT_MS = 300_000;
/**
 * How long the second upload of one file waits for the first one's transaction (the
 * UNIQUE file_sha256 decides between them); as long as the first may take.
 */
const RECONCILIATION_LOCK_TIMEOUT_MS = RECONCILIATION_STATEMENT_TIMEOUT_MS;
/** Memory per hash and sort of the matching: a million lines join in memory, not on disk. */
const RECONCILIATION_WORK_MEM = '128MB';

/**
 * The staging table of one upload: a temporary table of the transaction (ON COMMIT
 * DROP), so a failed upload leaves nothing behind and uploads never see each other.
 */
const CREATE_STAGING = `
  CREATE TEMPORARY TABLE reconciliation_staging (
    line                integer NOT NULL,
    processor_reference text NOT NULL,
    type                text NOT NULL,
    amount              bigint NOT NULL,
    currency            text NOT NULL,
    date                date NOT NULL
  ) ON COMMIT DROP`;

/**
 * Judges every staged line and every record of ours in one statement, set-based (hash
 * joins, no statement per line), records the exceptions and writes the counts on the
 * reconciliation ($1). `ours` is what a processor's file can name: a payment by its
 * authorization's reference (amount: what was captured) and a refund by its own (amount:
 * the refund's when it succeeded, else 0); one per reference and type. A record is
 * expected in the file (`missing_in_file`) when the processor settled it (captured, or a
 * succeeded refund) on a UTC day the file covers. Exceptions keep the file's order
 * (`ordinal` = line); records missing in the file follow, by type and reference.
 */
const JUDGE = `
  WITH ours AS MATERIALIZED (
    SELECT DISTINCT ON (type, processor_reference) *
      FROM (SELECT 'charge' AS type, processor_reference, id AS object_id,
                   amount_captured AS amount, currency, created_at,
                   amount_captured > 0 AS settled
              FROM payments WHERE processor_reference IS NOT NULL
            UNION ALL
            SELECT 'refund', processor_reference, id,
                   CASE WHEN status = 'succeeded' THEN amount ELSE 0 END, currency, created_at,
                   status = 'succeeded'
              FROM refunds WHERE processor_reference IS NOT NULL) AS records
     ORDER BY type, processor_reference, settled DESC, object_id
  ), firsts AS (
    SELECT type, processor_reference, min(line) AS line
      FROM reconciliation_staging GROUP BY type, processor_reference
  ), judged AS (
    SELECT s.line, s.line::bigint AS ordinal,
           CASE WHEN f.line <> s.line THEN 'duplicate_in_file'
                WHEN o.object_id IS NULL THEN 'missing_in_ours'
                WHEN o.amount <> s.amount THEN 'amount_mismatch'
                WHEN lower(o.currency) <> lower(s.currency) THEN 'currency_mismatch'
                ELSE 'matched' END AS kind,
           s.processor_reference, s.type, s.amount, s.currency, s.date,
           o.object_id, o.amount AS our_amount, o.currency AS our_currency
      FROM reconciliation_staging s
      JOIN firsts f ON f.type = s.type AND f.processor_reference = s.processor_reference
      LEFT JOIN ours o ON o.type = s.type AND o.processor_reference = s.processor_reference
  ), missing AS (
    SELECT NULL::integer AS line,
           (SELECT coalesce(max(line), 0) FROM reconciliation_staging)
             + row_number() OVER (ORDER BY o.type, o.processor_reference) AS ordinal,
           'missing_in_file' AS kind, o.processor_reference, o.type,
           NULL::bigint AS amount, NULL::text AS currency,
           (o.created_at AT TIME ZONE 'UTC')::date AS date,
           o.object_id, o.amount AS our_amount, o.currency AS our_currency
      FROM ours o
     WHERE o.settled
       AND (o.created_at AT TIME ZONE 'UTC')::date IN (SELECT date FROM reconciliation_staging)
       AND NOT EXISTS (SELECT 1 FROM reconciliation_staging s
                        WHERE s.type = o.type AND s.processor_reference = o.processor_reference)
  ), outcomes AS (
    SELECT * FROM judged UNION ALL SELECT * FROM missing
  ), recorded AS (
    INSERT INTO reconciliation_exceptions (reconciliation_id, ordinal, line, kind,
           processor_reference, type, amount, currency, date, object_id, our_amount, our_currency)
    SELECT $1, ordinal, line, kind, processor_reference, type, amount, currency, date,
           object_id, our_amount, our_currency
      FROM outcomes WHERE kind <> 'matched'
  ), counts AS (
    SELECT count(*) FILTER (WHERE kind = 'matched') AS matched,
           count(*) FILTER (WHERE kind = 'missing_in_ours') AS missing_in_ours,
           count(*) FILTER (WHERE kind = 'missing_in_file') AS missing_in_file,
           count(*) FILTER (WHERE kind = 'amount_mismatch') AS amount_mismatch,
           count(*) FILTER (WHERE kind = 'currency_mismatch') AS currency_mismatch,
           count(*) FILTER (WHERE kind = 'duplicate_in_file') AS duplicate_in_file
      FROM outcomes
  )
  UPDATE reconciliations r
     SET matched = c.matched, missing_in_ours = c.missing_in_ours,
         missing_in_file = c.missing_in_file, amount_mismatch = c.amount_mismatch,
         currency_mismatch = c.currency_mismatch, duplicate_in_file = c.duplicate_in_file
    FROM counts c
   WHERE r.id = $1
  RETURNING r.*`;

/**
 * One upload's transaction on its own connection: stage the file, look for the same
 * file, claim its hash, judge, commit (or roll back), then `end`.
 */
export class ReconciliationSession {
  private ended = false;
  private clean = false;

  constructor(private readonly client: PoolClient) {}

  /**
   * Streams the file's COPY rows (a reader's output) into the staging table. The
   * pipeline takes the reader's errors from the first moment: call it in the tick the
   * reader starts reading.
   */
  async stage(rows: Readable): Promise<void> {
    await pipeline(
      rows,
      this.client.query(
        copyFrom(
          `COPY reconciliation_staging (line, processor_reference, type, amount, currency, date)
           FROM STDIN`,
        ),
      ),
    );
    // Temporary tables are not analysed by autovacuum: the planner needs the row count
    // to choose hash joins.
    await this.client.query('ANALYZE reconciliation_staging');
  }

  /** The reconciliation of the file with this hash, committed by anyone. */
  async findByHash(fileSha256: string): Promise<Reconciliation | undefined> {
    const { rows } = await this.client.query<ReconciliationRow>(
      `SELECT ${RECONCILIATION_COLUMNS} FROM reconciliations WHERE file_sha256 = $1`,
      [fileSha256],
    );
    return rows[0] && toReconciliation(rows[0]);
  }

  /**
   * Records the reconciliation (counts to come in `judge`), or false when another upload
   * of the same file got there first: the UNIQUE file_sha256 waits for its transaction.
   */
  async claim(id: string, fileSha256: string, lines: number): Promise<boolean> {
    const { rowCount } = await this.client.query(
      `INSERT INTO reconciliations (id, file_sha256, lines, matched, missing_in_ours,
              missing_in_file, amount_mismatch, currency_mismatch, duplicate_in_file)
       VALUES ($1, $2, $3, 0, 0, 0, 0, 0, 0)
       ON CONFLICT (file_sha256) DO NOTHING`,
      [id, fileSha256, lines],
    );
    return rowCount === 1;
  }

  /** Judges the staged lines and our records, records the exceptions and the counts. */
  async judge(id: string): Promise<Reconciliation> {
    const { rows } = await this.client.query<ReconciliationRow>(JUDGE, [id]);
    const [row] = rows;
    if (!row) throw new Error(`reconciliation ${id} was not claimed in this transaction`);
    return toReconciliation(row);
  }

  async commit(): Promise<void> {
    await this.client.query('COMMIT');
    this.clean = true;
  }

  /** Drops what was staged (a file reconciled before: nothing new is recorded). */
  async rollback(): Promise<void> {
    await this.client.query('ROLLBACK');
    this.clean = true;
  }

  /**
   * Gives the connection back after a commit or a rollback, or closes it otherwise (the
   * server then rolls back; a COPY cut short leaves nothing to clean up).
   */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.client.release(!this.clean);
  }
}

/** All SQL of reconciliations and of the sandbox's settlement file. */
@Injectable()
export class ReconciliationsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** TypeORM's pg pool: COPY needs a driver connection of its own (pg-copy-streams). */
  private pool(): Pool {
    return (this.dataSource.driver as unknown as { master: Pool }).master;
  }

  /**
   * Opens an upload's transaction, with the deadlines and memory a large file needs, and
   * its staging table.
   */
  async begin(): Promise<ReconciliationSession> {
    const client = await this.pool().connect();
    const session = new ReconciliationSession(client);
    try {
      await client.query(
        `BEGIN;
         SET LOCAL statement_timeout = ${RECONCILIATION_STATEMENT_TIMEOUT_MS};
         SET LOCAL lock_timeout = ${RECONCILIATION_LOCK_TIMEOUT_MS};
         SET LOCAL work_mem = '${RECONCILIATION_WORK_MEM}';
         ${CREATE_STAGING}`,
      );
    } catch (error) {
      session.end();
      throw error;
    }
    return session;
  }

  async find(id: string): Promise<Reconciliation | undefined> {
    const rows = await this.dataSource.query<ReconciliationRow[]>(
      `SELECT ${RECONCILIATION_COLUMNS} FROM reconciliations WHERE id = $1`,
      [id],
    );
    return rows[0] && toReconciliation(rows[0]);
  }

  async findByHash(fileSha256: string): Promise<Reconciliation | undefined> {
    const rows = await this.dataSource.query<ReconciliationRow[]>(
      `SELECT ${RECONCILIATION_COLUMNS} FROM reconciliations WHERE file_sha256 = $1`,
      [fileSha256],
    );
    return rows[0] && toReconciliation(rows[0]);
  }

  /**
   * Writes the sandbox processor's settlement file of a UTC day (`YYYY-MM-DD`, checked
   * by the caller) to `sink`, as PostgreSQL's COPY produces it: streamed, with the
   * sink's backpressure, never held whole. Currencies upper case, as processors write
   * them; ordered so the same day gives the same bytes while nothing changes.
   */
  writeSettlementFile(date: string, sink: Writable): Promise<void> {
    return this.copyOut((client) => {
      const day = `${client.escapeLiteral(date)}::date`;
      const within = `created_at >= ${day}::timestamp AT TIME ZONE 'UTC'
                    AND created_at < (${day} + 1)::timestamp AT TIME ZONE 'UTC'`;
      return `COPY (
          SELECT processor_reference, type, amount, currency, date FROM (
            SELECT processor_reference, 'charge' AS type, amount_captured AS amount,
                   upper(currency) AS currency,
                   to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS date, created_at
              FROM payments
             WHERE processor_reference IS NOT NULL AND amount_captured > 0 AND ${within}
            UNION ALL
            SELECT processor_reference, 'refund', amount, upper(currency),
                   to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), created_at
              FROM refunds
             WHERE status = 'succeeded' AND processor_reference IS NOT NULL AND ${within}
          ) AS lines ORDER BY type, created_at, processor_reference
        ) TO STDOUT WITH (FORMAT csv, HEADER)`;
    }, sink);
  }

  /** Writes the exceptions of a reconciliation to `sink` as CSV (see the README's columns). */
  writeExceptions(reconciliationId: string, sink: Writable): Promise<void> {
    return this.copyOut(
      (client) => `COPY (
        SELECT line, kind, processor_reference, type, amount, upper(currency) AS currency, date,
               object_id, our_amount, upper(our_currency) AS our_currency
          FROM reconciliation_exceptions
         WHERE reconciliation_id = ${client.escapeLiteral(reconciliationId)}
         ORDER BY ordinal
      ) TO STDOUT WITH (FORMAT csv, HEADER)`,
      sink,
    );
  }

  /**
   * Runs a `COPY … TO STDOUT` (whose SQL cannot take parameters: values are quoted by
   * the driver's escapeLiteral) into `sink` in a read-only transaction, with the sink's
   * backpressure. A failure, or a reader gone, closes the connection.
   */
  private async copyOut(sql: (client: PoolClient) => string, sink: Writable): Promise<void> {
    const client = await this.pool().connect();
    let done = false;
    try {
      await client.query(
        `BEGIN READ ONLY;
         SET LOCAL statement_timeout = ${RECONCILIATION_STATEMENT_TIMEOUT_MS};
         SET LOCAL work_mem = '${RECONCILIATION_WORK_MEM}'`,
      );
      await pipeline(client.query(copyTo(sql(client))), sink);
      await client.query('COMMIT');
      done = true;
    } finally {
      client.release(!done);
    }
  }
}
