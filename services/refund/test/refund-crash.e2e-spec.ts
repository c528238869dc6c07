/**
 * Exactly once under a crash: the refund worker is killed with SIGKILL while refunds
 * are in flight (money held in the ledger, processor calls under way), then restarted.
 * Every refund must end exactly once, as succeeded, with one `refund.succeeded` event,
 * its payment's `amount_refunded` equal to it, the merchant's pending balance lower by
 * exactly the refunded total, and the ledger balanced.
 *
 * How: the gateway, the ledger and the refund service each run as their own process
 * (`services/<name>/src/main.ts`, libs/testing's platform). Half the payments use
 * `tok_slow`, so their refunds spend 2 s at the sandbox processor after their hold: the
 * test waits until every slow refund holds its money, kills the refund process with
 * SIGKILL, and checks that some of those holds are still pending (the kill landed
 * mid-flight) before starting the refund service again.
 */
import { merchantAccountId } from '@clearline/contracts';
import { eventually, type CreatedMerchant } from '@clearline/testing';
import { startRefunds, type RefundsHarness } from './refunds-harness';

const PAYMENTS = 16;
const AMOUNT = 1_000;

describe('refund worker killed mid-flight', () => {
  let h: RefundsHarness;
  let merchant: CreatedMerchant;

  const pendingBalance = async (): Promise<bigint> => {
    const [row] = await h.db.query<{ cpo: string; dpo: string; dp: string }>(
      `SELECT credits_posted AS cpo, debits_posted AS dpo, debits_pending AS dp
         FROM ledger_accounts WHERE id = $1`,
      [merchantAccountId(merchant.id, 'pending', 'usd')],
    );
    return BigInt(row?.cpo ?? 0) - BigInt(row?.dpo ?? 0) - BigInt(row?.dp ?? 0);
  };

  /** How many of these refunds' holds are in the ledger, and how many are still pending. */
  const holds = async (refundIds: string[]): Promise<{ made: number; pending: number }> => {
    const [row] = await h.db.query<{ made: number; pending: number }>(
      `SELECT count(*)::int AS made, (count(*) FILTER (WHERE status = 'pending'))::int AS pending
         FROM ledger_pending_transfers WHERE id = ANY($1)`,
      [refundIds.map((id) => `${id}:hold`)],
    );
    return row ?? { made: 0, pending: 0 };
  };

  beforeAll(async () => {
    h = await startRefunds({ inProcess: false });
    merchant = await h.gw.createMerchant({ name: 'Crash-tested shop' });
  });

  afterAll(async () => {
    await (h as RefundsHarness | undefined)?.close();
  });

  it('ends every refund exactly once across a SIGKILL and a restart', async () => {
    const payments = await Promise.all(
      Array.from({ length: PAYMENTS }, (_v, i) =>
        h.captured(merchant, AMOUNT, i % 2 === 0 ? 'tok_slow' : 'tok_visa'),
      ),
    );
    const before = await pendingBalance();
    const accepted = await Promise.all(
      payments.map((payment) =>
        h.refund(merchant, { payment }, { headers: { Prefer: 'respond-async' } }),
      ),
    );
    for (const reply of accepted) expect(reply.status).toBe(202);
    const slowRefunds = accepted.filter((_r, i) => i % 2 === 0).map((reply) => reply.body.id);
    // Wait until every slow refund holds its money (the hold comes before the processor).
    await eventually(async () => (await holds(slowRefunds)).made === slowRefunds.length, {
      what: 'the slow refunds to hold their money',
    });
    await h.platform.process('refund').kill();
    // Killed mid-flight: money held, not yet posted (the processor takes 2 s after a hold).
    expect((await holds(slowRefunds)).pending).toBeGreaterThan(0);

    await h.platform.restart('refund');
    for (const reply of accepted) await h.untilRefund(merchant, reply.body.id, 'succeeded');
    for (const payment of payments) {
      expect((await h.get(merchant, payment)).body.amount_refunded).toBe(AMOUNT);
    }
    expect(before - (await pendingBalance())).toBe(BigInt(PAYMENTS * AMOUNT));
    const rows = await h.db.query<{ type: string; n: number }>(
      `SELECT type, count(*)::int AS n FROM events
        WHERE merchant_id = $1 AND type LIKE 'refund.%' GROUP BY type ORDER BY type`,
      [merchant.id],
    );
    expect(rows).toEqual([
      { type: 'refund.created', n: PAYMENTS },
      { type: 'refund.succeeded', n: PAYMENTS },
    ]);
    await h.expectBalanced();
  });
});
