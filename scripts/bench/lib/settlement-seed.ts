import type { Client } from 'pg';
import type { BenchPlatform } from './platform-bench';
import { sleep, windowed } from './stats';

/** Admin calls in flight while the merchants are created. */
const MERCHANT_WINDOW = 16;
/** Payments written per transaction, so the seed reports progress and no transaction is huge. */
const SEED_CHUNK = 100_000;
/** How long the ledger may take to open every merchant's accounts. */
const ACCOUNTS_OPEN_TIMEOUT_MS = 120_000;
/** Seeded payment ids: `pay_bench` + 15 digits, the length of a real id (24 after `pay_`). */
const PAYMENT_ID_DIGITS = 15;
/** The ledger posts an automatic capture this long after the payment row is created. */
const POSTED_AFTER_MS = 40;

export interface SeededDay {
  /** The day the payments were made, UTC, `YYYY-MM-DD`. */
  date: string;
  payments: number;
  merchants: string[];
}

/**
 * Creates `count` merchants through the admin API (which opens their ledger accounts by
 * the `ledger.open_merchant` task), with pricing that varies a little between them, and
 * waits until the ledger has opened the accounts of all of them.
 */
export async function seedMerchants(
  platform: BenchPlatform,
  db: Client,
  count: number,
): Promise<string[]> {
  const ids: string[] = new Array<string>(count);
  await windowed(count, MERCHANT_WINDOW, async (i) => {
    const created = await platform.call<{ id: string }>(
      'POST',
      '/v1/admin/merchants',
      platform.adminKey,
      {
        name: `bench settlement ${i}`,
        pricing: { percent_bps: 150 + (i % 20) * 10, fixed: i % 40 },
      },
    );
    ids[i] = created.id;
  });
  const deadline = Date.now() + ACCOUNTS_OPEN_TIMEOUT_MS;
  for (;;) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(DISTINCT owner)::int AS n FROM ledger_accounts WHERE owner = ANY($1::text[])`,
      [ids],
    );
    if ((rows[0]?.n ?? 0) === count) return ids;
    if (Date.now() > deadline)
      throw new Error(`the ledger opened ${rows[0]?.n} of ${count} merchants`);
    await sleep(200);
  }
}

/** Yesterday, UTC, as `YYYY-MM-DD`: a whole day that is over, like a processor's file. */
export function yesterdayUtc(now = new Date()): string {
  const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - 1));
  return day.toISOString().slice(0, 10);
}

/**
 * Writes `count` captured payments spread over `merchants` and over the day `date` (UTC),
 * each with the ledger transfers the gateway's `PaymentLedger` writes for an automatic
 * capture: `pay_…:auth` (pending, platform clearing → merchant pending, code 1, linked)
 * and `pay_…:capture` (post_pending of the auth, code 2), the auth's pending state
 * `posted`, then each touched account's balances (set-based, one UPDATE). Rows are made
 * by PostgreSQL itself (`INSERT … SELECT … FROM generate_series`): nothing crosses the
 * wire, which is faster than a COPY fed from here and has the same effect (bulk,
 * set-based, no per-row round trip). Returns the day seeded.
 */
export async function seedPayments(
  db: Client,
  merchants: readonly string[],
  count: number,
  date: string,
  progress: (step: string) => void,
): Promise<SeededDay> {
  for (let from = 1; from <= count; from += SEED_CHUNK) {
    const to = Math.min(count, from + SEED_CHUNK - 1);
    progress(`seeding payments ${from}..${to} of ${count}`);
    await db.query('BEGIN');
    try {
      await insertPayments(db, merchants, from, to, count, date);
      await insertTransfers(db, from, to);
      await db.query('COMMIT');
    } catch (error) {
      await db.query('ROLLBACK');
      throw error;
    }
  }
  progress('seeding the ledger balances');
  await updateBalances(db);
  progress('VACUUM ANALYZE of the seeded tables');
  // A day's payments have been read and vacuumed long before its settlement: without
  // this, autovacuum and cold statistics of a fresh million rows would land in the timing.
  for (const table of [
    'payments',
    'ledger_transfers',
    'ledger_pending_transfers',
    'ledger_accounts',
  ]) {
    await db.query(`VACUUM (ANALYZE) ${table}`);
  }
  // The seed dirtied ~1 GB of pages: flushed now, not by a checkpoint while payments are
  // timed (their commits would wait behind its writes).
  progress('CHECKPOINT');
  await db.query('CHECKPOINT').catch((error: unknown) => {
    progress(`CHECKPOINT refused (${String(error)}): the seed is flushed while timed`);
  });
  return { date, payments: count, merchants: [...merchants] };
}

/**
 * Payments `from`..`to` of `count`: mostly usd, every 20th eur and every 50th jpy; amounts
 * 100..100000 minor units; merchants taken round-robin; times spread evenly over the day.
 */
async function insertPayments(
  db: Client,
  merchants: readonly string[],
  from: number,
  to: number,
  count: number,
  date: string,
): Promise<void> {
  await db.query(
    `INSERT INTO payments (id, merchant_id, amount, currency, status, capture_method,
       amount_capturable, amount_captured, source, processor_reference, created_at, updated_at)
     SELECT p.id, ($1::text[])[1 + n % cardinality($1::text[])], p.amount, p.currency,
            'succeeded', 'automatic', 0, p.amount, 'tok_visa', 'sandbox_auth_' || p.id, p.at,
            p.at + make_interval(secs => $6::int / 1000.0)
       FROM generate_series($2::bigint, $3::bigint) AS n,
            LATERAL (SELECT 'pay_bench' || lpad(n::text, $7::int, '0') AS id,
                            100 + (n * 7919) % 99901 AS amount,
                            CASE WHEN n % 50 = 0 THEN 'jpy' WHEN n % 20 = 0 THEN 'eur' ELSE 'usd' END
                              AS currency,
                            ($5::date::timestamp AT TIME ZONE 'UTC')
                              + make_interval(secs => (n - 1) * 86399.0 / $4::bigint) AS at) AS p`,
    [merchants, from, to, count, date, POSTED_AFTER_MS, PAYMENT_ID_DIGITS],
  );
}

/** The auth and capture transfers of payments `from`..`to`, and the auths' pending states. */
async function insertTransfers(db: Client, from: number, to: number): Promise<void> {
  const ids = [
    `pay_bench${String(from).padStart(PAYMENT_ID_DIGITS, '0')}`,
    `pay_bench${String(to).padStart(PAYMENT_ID_DIGITS, '0')}`,
  ];
  const select = (suffix: string, columns: string): string =>
    `SELECT id || '${suffix}', 'platform:clearing:' || upper(currency),
            merchant_id || ':pending:' || upper(currency), amount, upper(currency), ${columns},
            created_at + make_interval(secs => $3::int / 1000.0)
       FROM payments WHERE id BETWEEN $1 AND $2`;
  const insert = `INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount,
       currency, code, pending, post_pending, void_pending, linked, pending_id, timeout_s, created_at)`;
  await db.query(`${insert} ${select(':auth', `1, true, false, false, true, NULL, 0`)}`, [
    ...ids,
    POSTED_AFTER_MS,
  ]);
  await db.query(
    `${insert} ${select(':capture', `2, false, true, false, false, id || ':auth', 0`)}`,
    [...ids, POSTED_AFTER_MS],
  );
  await db.query(
    `INSERT INTO ledger_pending_transfers (id, status, expires_at, resolved_at)
     SELECT id || ':auth', 'posted', NULL, created_at + make_interval(secs => $3::int / 1000.0)
       FROM payments WHERE id BETWEEN $1 AND $2`,
    [...ids, POSTED_AFTER_MS],
  );
}

/**
 * The balances the seeded captures add: each merchant pending account's `credits_posted`
 * and each platform clearing account's `debits_posted`, by the sum of its postings.
 */
async function updateBalances(db: Client): Promise<void> {
  await db.query(
    `WITH posted AS (
       SELECT credit_account_id AS account_id, 0::bigint AS debits, sum(amount) AS credits
         FROM ledger_transfers WHERE id LIKE 'pay\\_bench%:capture' GROUP BY credit_account_id
       UNION ALL
       SELECT debit_account_id, sum(amount), 0
         FROM ledger_transfers WHERE id LIKE 'pay\\_bench%:capture' GROUP BY debit_account_id
     )
     UPDATE ledger_accounts a
        SET debits_posted = a.debits_posted + p.debits,
            credits_posted = a.credits_posted + p.credits
       FROM posted p WHERE a.id = p.account_id`,
  );
}
