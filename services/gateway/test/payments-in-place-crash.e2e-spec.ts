/**
 * A gateway killed while its requests authorize payments in place loses none of them and
 * applies none twice: each payment's task, committed with the payment, is the writer's
 * for its grace (`OUTBOX_WRITER_GRACE_MS`), then the outbox relay of the gateway that
 * comes back publishes it and a worker finishes the payment.
 *
 * How: the gateway and the ledger run as their own processes (libs/testing's platform).
 * Payments with `tok_slow` (2 s at the sandbox processor) are sent; once every one is
 * committed (their requests then wait 2 s at the processor), the gateway gets SIGKILL and
 * the requests die unanswered (some payments still `processing`: the kill landed
 * mid-flight). A new gateway process starts: every payment
 * must end `succeeded` with exactly its two ledger transfers (`:auth`, `:capture`), one
 * `payment.succeeded` event, a SUCCESS result for its task, and the ledger balanced.
 */
import {
  card,
  eventually,
  paymentsApi,
  SERVICE_START_TIMEOUT_MS,
  startPlatform,
  type CreatedMerchant,
  type Platform,
} from '@clearline/testing';

const PAYMENTS = 6;

jest.setTimeout(SERVICE_START_TIMEOUT_MS * 2);

describe('gateway killed while authorizing payments in place', () => {
  let platform: Platform;
  let merchant: CreatedMerchant;

  beforeAll(async () => {
    platform = await startPlatform({ services: ['gateway', 'ledger'] });
    merchant = await platform.gw.createMerchant({ name: 'Crash-tested shop' });
    const api = paymentsApi(platform.gw);
    // Its ledger accounts open through the relay: a first payment succeeds once they have.
    await eventually(async () => (await api.pay(merchant, card())).status === 200, {
      what: "the merchant's first payment",
    });
  });

  afterAll(async () => {
    await (platform as Platform | undefined)?.close();
  });

  /** The test's payments (`tok_slow`), in `status` if given. */
  const slowPayments = async (status?: string): Promise<string[]> =>
    (
      await platform.db.query<{ id: string }>(
        `SELECT id FROM payments WHERE merchant_id = $1 AND source = 'tok_slow'
            AND ($2::text IS NULL OR status = $2) ORDER BY id`,
        [merchant.id, status ?? null],
      )
    ).map((row) => row.id);

  it('finishes every payment once, through its committed task, after a SIGKILL', async () => {
    const api = paymentsApi(platform.gw);
    // The requests die with the process: their answers are never read.
    const requests = Array.from({ length: PAYMENTS }, () =>
      api.pay(merchant, card('tok_slow')).catch(() => null),
    );
    await eventually(async () => (await slowPayments()).length === PAYMENTS, {
      what: 'every payment committed (its request then spends 2 s at the processor)',
    });
    const ids = await slowPayments();
    // In place: nothing was published for them (a publish counts an attempt).
    const published = await platform.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM task_outbox WHERE task_id = ANY($1) AND attempts > 0`,
      [ids.map((id) => `${id}:authorize`)],
    );
    expect(published).toEqual([{ n: 0 }]);
    await platform.process('gateway').kill();
    await Promise.all(requests);
    // Killed mid-flight: payments whose requests died before their outcome.
    expect((await slowPayments('processing')).length).toBeGreaterThan(0);

    await platform.restart('gateway');
    const again = paymentsApi(platform.gw);
    for (const id of ids) await again.until(merchant, id, 'succeeded');

    const transfers = await platform.db.query<{ id: string }>(
      `SELECT id FROM ledger_transfers WHERE id LIKE ANY($1) ORDER BY id`,
      [ids.map((id) => `${id}:%`)],
    );
    expect(transfers.map((row) => row.id)).toEqual(
      ids.flatMap((id) => [`${id}:auth`, `${id}:capture`]).sort(),
    );
    const events = await platform.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM events
        WHERE type = 'payment.succeeded' AND data->'object'->>'id' = ANY($1)`,
      [ids],
    );
    expect(events).toEqual([{ n: PAYMENTS }]);
    const results = await platform.db.query<{ state: string; n: number }>(
      `SELECT state, count(*)::int AS n FROM task_results WHERE id = ANY($1) GROUP BY state`,
      [ids.map((id) => `${id}:authorize`)],
    );
    expect(results).toEqual([{ state: 'SUCCESS', n: PAYMENTS }]);
    await again.expectBalanced();
  });
});
