/**
 * The gateway claims payments for captures and cancels that come together in one
 * statement (one commit for all of them, no transaction holding a payment's row across
 * round trips): each claim moves its payment only if it is the merchant's, authorized and
 * can capture the amount, and writes its task and its request's idempotency reference
 * only then; two claims of one payment go in turns, and only one wins.
 *
 * How: the payment writes repository on this file's own database (every migration
 * applied), rows written by SQL; statements counted by spying on the data source; the
 * committed outbox (what publishes the tasks after the commit) is a recorder.
 */
import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { recordingCommittedOutbox } from '@clearline/testing';
import type { Payment } from '../src/payments/payment.model';
import {
  PaymentWritesRepository,
  type PaymentClaim,
} from '../src/payments/payment-writes.repository';
import { statementsDatabase, type StatementsDatabase } from './statements-harness';

describe('payment claims made together', () => {
  let db: StatementsDatabase;
  let dataSource: DataSource;
  let writes: PaymentWritesRepository;
  const merchant = 'mer_claims';
  const { committed, sent } = recordingCommittedOutbox();

  beforeAll(async () => {
    db = await statementsDatabase([merchant, 'mer_other']);
    dataSource = db.dataSource;
    writes = new PaymentWritesRepository(dataSource, committed);
  });

  afterAll(() => db.close());

  /** An authorized payment of 1,000 (manual capture). */
  async function authorized(): Promise<string> {
    const id = `pay_${randomBytes(8).toString('hex')}`;
    await dataSource.query(
      `INSERT INTO payments (id, merchant_id, amount, currency, status, capture_method, source,
                             amount_capturable)
       VALUES ($1, $2, 1000, 'usd', 'requires_capture', 'manual', 'tok_visa', 1000)`,
      [id, merchant],
    );
    return id;
  }

  function claimOf(
    paymentId: string,
    operation: 'capture' | 'cancel',
    amountToCapture: number | null,
    key: string | null = null,
    merchantId = merchant,
  ): PaymentClaim {
    return {
      merchantId,
      paymentId,
      from: 'requires_capture',
      to: operation === 'capture' ? 'capturing' : 'canceling',
      amountToCapture,
      claim: key === null ? null : { scope: merchantId, key, requestHash: 'hash' },
      task: {
        task: `gateway.${operation}_payment`,
        payload: { payment_id: paymentId },
        options: { id: `${paymentId}:${operation}` },
      },
    };
  }

  it('claims payments in one statement, and one payment twice in turns: one claim wins', async () => {
    const [a, b, c, d] = await Promise.all([
      authorized(),
      authorized(),
      authorized(),
      authorized(),
    ]);
    const keys = await db.heldKeys(merchant, 3);
    const claims = [
      claimOf(a, 'capture', 600, keys[0]),
      claimOf(b, 'cancel', null),
      claimOf(c, 'capture', 500, null, 'mer_other'), // not the merchant's
      claimOf(d, 'capture', 2_000), // more than it can capture
      claimOf(a, 'cancel', null, keys[1]), // a second claim of a: its turn comes after
    ];
    sent.length = 0;
    const statements = jest.spyOn(dataSource, 'query');
    let claimed: (Payment | null)[];
    try {
      claimed = await Promise.all(claims.map((claim) => writes.claimOne(claim)));
      expect(statements).toHaveBeenCalledTimes(2);
    } finally {
      statements.mockRestore();
    }
    expect(claimed.map((payment) => payment?.status ?? null)).toEqual([
      'capturing',
      'canceling',
      null,
      null,
      null,
    ]);
    const rows = await dataSource.query<
      { id: string; status: string; amount_to_capture: string | null }[]
    >(`SELECT id, status, amount_to_capture FROM payments WHERE id = ANY($1::text[])`, [
      [a, b, c, d],
    ]);
    expect(new Map(rows.map((row) => [row.id, [row.status, row.amount_to_capture]]))).toEqual(
      new Map([
        [a, ['capturing', '600']],
        [b, ['canceling', null]],
        [c, ['requires_capture', null]],
        [d, ['requires_capture', null]],
      ]),
    );
    const expected = [`${a}:capture`, `${b}:cancel`].sort();
    const tasks = await dataSource.query<{ task_id: string }[]>(
      `SELECT task_id FROM task_outbox WHERE task_id = ANY($1::text[]) ORDER BY task_id`,
      [[a, b, c, d].flatMap((id) => [`${id}:capture`, `${id}:cancel`])],
    );
    expect(tasks.map((row) => row.task_id)).toEqual(expected);
    expect([...sent].sort()).toEqual(expected);
    expect(await db.references(keys)).toEqual(
      new Map([
        [keys[0], a],
        [keys[1], null],
        [keys[2], null],
      ]),
    );
  });
});
