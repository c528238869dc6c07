/**
 * Exactly once under a crash: the settlement worker is killed with SIGKILL in the middle
 * of a run (some merchants settled, others claimed or not started, payouts in flight),
 * then started again. The broker redelivers what was unacknowledged; claims are resumed,
 * ledger postings and payouts are read back by their ids. In the end every merchant has
 * exactly one settlement holding each of its postings once, one payout, paid, and the
 * ledger is balanced. The worker runs one merchant at a time so the kill lands mid-run
 * (checked: not every merchant had settled when it died).
 */
import type { CreatedMerchant } from '@clearline/testing';
import { eventually } from '@clearline/testing';
import { startSettlement, type SettlementHarness } from './settlement-harness';

const MERCHANTS = 120;
const CAPTURES_EACH = 3;

describe('settlement worker killed mid-run', () => {
  let h: SettlementHarness;

  beforeAll(async () => {
    h = await startSettlement({ env: { TASK_CONCURRENCY_BATCH: '1', TASK_PREFETCH_BATCH: '4' } });
  });

  afterAll(async () => {
    await h.close();
  });

  it('settles every merchant exactly once across a SIGKILL and a restart', async () => {
    const merchants: CreatedMerchant[] = [];
    for (let start = 0; start < MERCHANTS; start += 10) {
      merchants.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(10, MERCHANTS - start) }, (_, i) =>
            h.gw.createMerchant({ name: `Crash shop ${start + i}` }),
          ),
        )),
      );
    }
    const cutOffS = Math.floor(Date.now() / 1_000) - 60;
    for (const merchant of merchants) {
      for (let n = 1; n <= CAPTURES_EACH; n += 1) {
        await h.postedCapture(merchant, 1_000 * n, new Date((cutOffS - n) * 1_000));
      }
    }

    const run = await h.startRun(cutOffS);
    expect(run.merchants).toBe(MERCHANTS);
    await eventually(async () => {
      const [row] = await h.db.query<{ settled: string }>(
        `SELECT count(*) AS settled FROM settlement_run_merchants
          WHERE run_id = $1 AND status = 'settled'`,
        [run.id],
      );
      return Number(row?.settled) >= 3;
    });
    await h.platform.process('settlement').kill();
    const [atKill] = await h.db.query<{ settled: string }>(
      `SELECT count(*) AS settled FROM settlement_run_merchants
        WHERE run_id = $1 AND status = 'settled'`,
      [run.id],
    );
    expect(Number(atKill?.settled)).toBeLessThan(MERCHANTS);

    await h.platform.restart('settlement');
    expect((await h.runEnded(run.id)).status).toBe('completed');

    const perMerchant = await h.db.query<{
      merchant_id: string;
      settlements: string;
      items: string;
    }>(
      `SELECT s.merchant_id, count(DISTINCT s.id) AS settlements, count(i.transfer_id) AS items
         FROM settlements s JOIN settlement_items i ON i.settlement_id = s.id
        WHERE s.run_id = $1 GROUP BY s.merchant_id`,
      [run.id],
    );
    expect(perMerchant).toHaveLength(MERCHANTS);
    for (const row of perMerchant) {
      expect({ settlements: row.settlements, items: row.items }).toEqual({
        settlements: '1',
        items: String(CAPTURES_EACH),
      });
    }
    // Every payout paid once: one per settlement, and one posting of each in the ledger.
    await eventually(async () => {
      const [row] = await h.db.query<{ paid: string }>(
        `SELECT count(*) AS paid FROM payouts WHERE status = 'paid'`,
      );
      return Number(row?.paid) === MERCHANTS;
    });
    const [posted] = await h.db.query<{ holds: string; posts: string; settled: string }>(
      `SELECT count(*) FILTER (WHERE id LIKE 'po\\_%:hold') AS holds,
              count(*) FILTER (WHERE id LIKE 'po\\_%:post') AS posts,
              count(*) FILTER (WHERE code = 5) AS settled
         FROM ledger_transfers`,
    );
    expect(posted).toEqual({
      holds: String(MERCHANTS),
      posts: String(MERCHANTS),
      settled: String(MERCHANTS),
    });
    await h.expectBalanced();
  });
});
