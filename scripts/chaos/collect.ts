import type { Platform } from '@clearline/testing';
import { call } from './http';
import type { ChaosState, MerchantBalance, PaymentRow, RefundRow, TransferRow } from './model';
import { deadLetters, type InFlight } from './settle';
import type { RequestRecord, TaskRow } from './model';

interface Numbers {
  [column: string]: string;
}

/** The merchants' payments and refunds, their ledger transfers and balances, as stored. */
export async function collectState(
  platform: Platform,
  merchants: readonly string[],
  requests: RequestRecord[],
  seen: InFlight,
  queues: readonly string[],
  crashes: readonly string[],
): Promise<ChaosState> {
  const db = platform.db;
  const [payments, refunds, transfers, accounts, unfinished] = await Promise.all([
    db.query<Numbers & { id: string; merchant_id: string; status: string }>(
      `SELECT id, merchant_id, status, amount::text, amount_captured::text AS captured,
              amount_capturable::text AS capturable, amount_refunded::text AS refunded
         FROM payments WHERE merchant_id = ANY($1) ORDER BY id`,
      [merchants],
    ),
    db.query<Numbers & { id: string; payment_id: string; merchant_id: string; status: string }>(
      `SELECT id, payment_id, merchant_id, status, amount::text
         FROM refunds WHERE merchant_id = ANY($1) ORDER BY id`,
      [merchants],
    ),
    db.query<{ id: string; amount: string; status: string | null }>(
      `SELECT t.id, t.amount::text, p.status
         FROM ledger_transfers t LEFT JOIN ledger_pending_transfers p ON p.id = t.id`,
    ),
    db.query<Numbers & { id: string }>(
      `SELECT id, debits_posted::text AS dpo, credits_posted::text AS cpo,
              debits_pending::text AS dp, credits_pending::text AS cp
         FROM ledger_accounts`,
    ),
    db.query<TaskRow>(
      `SELECT id, task, state FROM task_results
        WHERE state NOT IN ('SUCCESS', 'FAILURE', 'REVOKED') ORDER BY id`,
    ),
  ]);
  const gw = platform.gw;
  const check = await call(gw.baseUrl, 'GET', '/v1/admin/ledger/check', gw.adminKey);
  const ledgerCheck = check.body as { balanced?: boolean; violations?: string[] };
  return {
    requests,
    merchants: [...merchants],
    payments: payments.map((p): PaymentRow => ({
      id: p.id,
      merchant: p.merchant_id,
      status: p.status,
      amount: BigInt(p['amount'] ?? 0),
      captured: BigInt(p['captured'] ?? 0),
      capturable: BigInt(p['capturable'] ?? 0),
      refunded: BigInt(p['refunded'] ?? 0),
    })),
    refunds: refunds.map((r): RefundRow => ({
      id: r.id,
      payment: r.payment_id,
      merchant: r.merchant_id,
      status: r.status,
      amount: BigInt(r['amount'] ?? 0),
    })),
    transfers: transfers.map((t): TransferRow => ({
      id: t.id,
      amount: BigInt(t.amount),
      pendingStatus: t.status,
    })),
    balances: merchants.map((merchant) => balanceOf(merchant, accounts)),
    ledgerCheck: {
      balanced: check.status === 200 && ledgerCheck.balanced === true,
      violations: ledgerCheck.violations ?? [`ledger check answered ${String(check.status)}`],
    },
    unfinishedTasks: unfinished,
    deadLetters: await deadLetters(platform, queues),
    crashes: [...crashes],
    inFlight: { operations: seen.operations, outbox: seen.outbox, queued: seen.queued },
  };
}

/** A merchant's accounts (`<merchant>:<role>:<currency>`) summed. */
function balanceOf(
  merchant: string,
  accounts: readonly (Numbers & { id: string })[],
): MerchantBalance {
  const balance: MerchantBalance = {
    merchant,
    debitsPosted: 0n,
    creditsPosted: 0n,
    debitsPending: 0n,
    creditsPending: 0n,
  };
  for (const account of accounts) {
    if (!account.id.startsWith(`${merchant}:`)) continue;
    balance.debitsPosted += BigInt(account['dpo'] ?? 0);
    balance.creditsPosted += BigInt(account['cpo'] ?? 0);
    balance.debitsPending += BigInt(account['dp'] ?? 0);
    balance.creditsPending += BigInt(account['cp'] ?? 0);
  }
  return balance;
}
