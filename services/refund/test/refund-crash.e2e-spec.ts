/**
 * Exactly once under a crash: the refund worker is killed with SIGKILL while refunds
 * are in flight (money held in the ledger, processor calls under way), then restarted.
 * Every refund must end exactly once, as succeeded, with one `refund.succeeded` event,
 * its payment's `amount_refunded` equal to it, the merchant's pending balance lower by
 * exactly the refunded total, and the ledger balanced.
 *
 * How: the gateway and the ledger run in this process; the refund service runs as its
 * own process (`services/refund/src/main.ts`). Half the payments use `tok_slow`, so their
 * refunds spend 2 s at the sandbox processor: the kill lands while they are held in
 * the ledger and not yet posted, which the test checks before restarting the worker.
 */
import { merchantAccountId } from '@clearline/contracts';
import { eventually, startService, type ServiceProcess } from '@clearline/testing';
import type { CreatedMerchant } from '../../gateway/test/gateway-harness';
import { startRefunds, type RefundsHarness } from './refunds-harness';

const PAYMENTS = 16;
const AMOUNT = 1_000;
const port = 40_000 + Math.floor(Math.random() * 10_000);

describe('refund worker killed mid-flight', () => {
  let h: RefundsHarness;
  let merchant: CreatedMerchant;
  let worker: ServiceProcess | null = null;

  const start = (): Promise<ServiceProcess> =>
    startService('refund', port, {
      ...h.gw.infra.env,
      REFUND_PORT: String(port),
      PAYMENT_PROCESSOR: 'sandbox',
    });
  const pendingBalance = async (): Promise<bigint> => {
    const [row] = await h.ledger.dataSource.query<{ cpo: string; dpo: string; dp: string }[]>(
      `SELECT credits_posted AS cpo, debits_posted AS dpo, debits_pending AS dp
         FROM ledger_accounts WHERE id = $1`,
      [merchantAccountId(merchant.id, 'pending', 'usd')],
    );
    return BigInt(row?.cpo ?? 0) - BigInt(row?.dpo ?? 0) - BigInt(row?.dp ?? 0);
  };

  beforeAll(async () => {
    h = await startRefunds({ inProcess: false });
    merchant = await h.gw.createMerchant({ name: 'Crash-tested shop' });
    worker = await start();
  });

  afterAll(async () => {
    await worker?.stop();
    await h.close();
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
    // Wait until every slow refund holds its money (the hold comes before the processor).
    await eventually(
      async () => {
        const [row] = await h.ledger.dataSource.query<{ n: number }[]>(
          `SELECT count(*)::int AS n FROM ledger_pending_transfers WHERE id LIKE 're\\_%:hold'`,
        );
        return (row?.n ?? 0) >= PAYMENTS / 2;
      },
      { what: 'the slow refunds to hold their money', timeoutMs: 20_000 },
    );
    await worker?.kill();
    const [held] = await h.ledger.dataSource.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM ledger_pending_transfers
        WHERE id LIKE 're\\_%:hold' AND status = 'pending'`,
    );
    expect(held?.n).toBeGreaterThan(0); // killed mid-flight: money held, not yet posted

    worker = await start();
    for (const reply of accepted) await h.untilRefund(merchant, reply.body.id, 'succeeded');
    for (const payment of payments) {
      expect((await h.get(merchant, payment)).body.amount_refunded).toBe(AMOUNT);
    }
    expect(before - (await pendingBalance())).toBe(BigInt(PAYMENTS * AMOUNT));
    const rows = await h.ledger.dataSource.query<{ type: string; n: number }[]>(
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
