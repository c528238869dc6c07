/**
 * The gateway opens the refunds requested together in one statement, and ends those
 * whose outcomes arrive together in one (one commit, one WAL flush, for all of them).
 * Opening: each refund's amount is reserved only if its payment still covers it, so
 * refunds of one payment opened together go in turns and never reserve more than was
 * captured; a refund not opened writes nothing (no row, event, task or idempotency
 * reference). Ending: each refund ends, its payment's reservation is settled, and its
 * event is recorded — also when several refunds of one payment end in the same
 * statement (their amounts add up; an UPDATE … FROM alone would apply one). A refund
 * ended twice at once ends, and is reported, once.
 *
 * How: the refunds repository on this file's own database (every migration applied),
 * rows written by SQL; statements counted by spying on the data source; the committed
 * outbox (what publishes the tasks after the commit) is a recorder.
 */
import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { recordingCommittedOutbox } from '@clearline/testing';
import type { Refund } from '../src/refunds/refund.model';
import {
  RefundsRepository,
  type RefundEnding,
  type RefundOpening,
} from '../src/refunds/refunds.repository';
import { statementsDatabase, type StatementsDatabase } from './statements-harness';

describe('refunds opened and ended together', () => {
  let db: StatementsDatabase;
  let dataSource: DataSource;
  let refunds: RefundsRepository;
  const merchant = 'mer_outcomes';
  const { committed, sent } = recordingCommittedOutbox();

  beforeAll(async () => {
    db = await statementsDatabase([merchant]);
    dataSource = db.dataSource;
    refunds = new RefundsRepository(dataSource, committed);
  });

  afterAll(() => db.close());

  const id = (prefix: string): string => `${prefix}_${randomBytes(8).toString('hex')}`;

  /** A captured payment with pending refunds of `amounts` reserved on it. */
  async function paymentWithRefunds(
    captured: number,
    amounts: number[],
  ): Promise<{
    payment: string;
    refunds: string[];
  }> {
    const payment = id('pay');
    const reserved = amounts.reduce((sum, amount) => sum + amount, 0);
    await dataSource.query(
      `INSERT INTO payments (id, merchant_id, amount, currency, status, capture_method, source,
                             amount_captured, amount_refund_reserved)
       VALUES ($1, $2, $3, 'usd', 'succeeded', 'automatic', 'tok_visa', $3, $4)`,
      [payment, merchant, captured, reserved],
    );
    const ids = amounts.map(() => id('re'));
    await dataSource.query(
      `INSERT INTO refunds (id, merchant_id, payment_id, amount, currency, status)
       SELECT r.id, $2, $3, r.amount, 'usd', 'pending'
         FROM unnest($1::text[], $4::bigint[]) AS r(id, amount)`,
      [ids, merchant, payment, amounts],
    );
    return { payment, refunds: ids };
  }

  const ending = (refund: string, status: 'succeeded' | 'failed'): RefundEnding => ({
    id: refund,
    end:
      status === 'succeeded'
        ? { status, failureReason: null, processorReference: `sandbox_${refund}` }
        : { status, failureReason: 'declined', processorReference: null },
    event: { type: `refund.${status}`, data: { id: refund, status } },
  });

  async function payment(paymentId: string): Promise<{ refunded: string; reserved: string }> {
    const [row] = await dataSource.query<{ refunded: string; reserved: string }[]>(
      `SELECT amount_refunded AS refunded, amount_refund_reserved AS reserved
         FROM payments WHERE id = $1`,
      [paymentId],
    );
    if (!row) throw new Error(`no payment ${paymentId}`);
    return row;
  }

  async function events(refundIds: string[]): Promise<string[]> {
    const rows = await dataSource.query<{ type: string }[]>(
      `SELECT type FROM events WHERE data->'object'->>'id' = ANY($1::text[]) ORDER BY type`,
      [refundIds],
    );
    return rows.map((row) => row.type);
  }

  function opening(paymentId: string, amount: number, key: string | null = null): RefundOpening {
    const createdAt = new Date();
    const refund: Refund = {
      id: id('re'),
      merchantId: merchant,
      paymentId,
      amount: BigInt(amount),
      currency: 'usd',
      status: 'pending',
      reason: null,
      failureReason: null,
      processorReference: null,
      metadata: {},
      createdAt,
      updatedAt: createdAt,
    };
    return {
      refund,
      claim: key === null ? null : { scope: merchant, key, requestHash: 'hash' },
      task: {
        task: 'refund.process_refund',
        payload: { refund_id: refund.id },
        options: { id: `${refund.id}:process` },
      },
      event: { type: 'refund.created', data: { id: refund.id, status: 'pending' } },
    };
  }

  it('opens refunds of several payments in one statement, and of one payment in turns, never beyond what was captured', async () => {
    const [a, b] = await Promise.all([paymentWithRefunds(1_000, []), paymentWithRefunds(500, [])]);
    const keys = await db.heldKeys(merchant, 2);
    const openings = [
      opening(a.payment, 600, keys[0]),
      opening(b.payment, 500),
      opening(a.payment, 600, keys[1]), // its turn comes after the first: 400 are left
      opening(a.payment, 400),
    ];
    sent.length = 0;
    const statements = jest.spyOn(dataSource, 'query');
    let opened: (Refund | null)[];
    try {
      opened = await Promise.all(openings.map((o) => refunds.openShared(o)));
      // Three turns of payment a, the first shared with b.
      expect(statements).toHaveBeenCalledTimes(3);
    } finally {
      statements.mockRestore();
    }
    expect(opened.map((refund) => refund?.amount ?? null)).toEqual([600n, 500n, null, 400n]);
    expect(opened[0]).toMatchObject({
      status: 'pending',
      createdAt: openings[0]?.refund.createdAt,
    });
    expect(await payment(a.payment)).toEqual({ refunded: '0', reserved: '1000' });
    expect(await payment(b.payment)).toEqual({ refunded: '0', reserved: '500' });
    const made = [0, 1, 3].map((i) => openings[i]?.refund.id ?? '');
    const refused = openings[2]?.refund.id ?? '';
    const rows = await dataSource.query<{ id: string }[]>(
      `SELECT id FROM refunds WHERE id = ANY($1::text[]) ORDER BY id`,
      [[...made, refused]],
    );
    expect(rows.map((row) => row.id)).toEqual([...made].sort());
    expect(await events([...made, refused])).toEqual(made.map(() => 'refund.created'));
    const tasks = await dataSource.query<{ task_id: string }[]>(
      `SELECT task_id FROM task_outbox WHERE task_id LIKE 're\\_%:process' ORDER BY task_id`,
    );
    const expected = made.map((refundId) => `${refundId}:process`).sort();
    expect(tasks.map((row) => row.task_id)).toEqual(expected);
    expect([...sent].sort()).toEqual(expected);
    expect(await db.references(keys)).toEqual(
      new Map([
        [keys[0], openings[0]?.refund.id],
        [keys[1], null],
      ]),
    );
  });

  it('ends refunds of one payment and of others in one statement, every reservation settled', async () => {
    const shared = await paymentWithRefunds(1_000, [100, 200, 300]);
    const others = await Promise.all([1, 2, 3].map(() => paymentWithRefunds(500, [500])));
    const statements = jest.spyOn(dataSource, 'query');
    let ended: (Date | null)[];
    try {
      ended = await Promise.all([
        refunds.settleOne(ending(shared.refunds[0] ?? '', 'succeeded')),
        refunds.settleOne(ending(shared.refunds[1] ?? '', 'failed')),
        refunds.settleOne(ending(shared.refunds[2] ?? '', 'succeeded')),
        ...others.map((other) => refunds.settleOne(ending(other.refunds[0] ?? '', 'succeeded'))),
      ]);
      expect(statements).toHaveBeenCalledTimes(1);
    } finally {
      statements.mockRestore();
    }
    expect(ended.every((at) => at instanceof Date)).toBe(true);
    // 100 and 300 refunded, 200 freed: nothing stays reserved.
    expect(await payment(shared.payment)).toEqual({ refunded: '400', reserved: '0' });
    for (const other of others) {
      expect(await payment(other.payment)).toEqual({ refunded: '500', reserved: '0' });
    }
    expect(await events(shared.refunds)).toEqual([
      'refund.failed',
      'refund.succeeded',
      'refund.succeeded',
    ]);
    const [row] = await dataSource.query<{ status: string; processor_reference: string }[]>(
      `SELECT status, processor_reference FROM refunds WHERE id = $1`,
      [shared.refunds[0]],
    );
    expect(row).toEqual({
      status: 'succeeded',
      processor_reference: `sandbox_${shared.refunds[0] ?? ''}`,
    });
  });

  it('ends a refund whose outcome comes twice at once, or again later, once', async () => {
    const { payment: paymentId, refunds: ids } = await paymentWithRefunds(800, [800]);
    const refund = ids[0] ?? '';
    const [first, second] = await Promise.all([
      refunds.settleOne(ending(refund, 'succeeded')),
      refunds.settleOne(ending(refund, 'succeeded')),
    ]);
    expect(first).toBeInstanceOf(Date);
    expect(second).toBeNull();
    await expect(refunds.settleOne(ending(refund, 'failed'))).resolves.toBeNull();
    expect(await payment(paymentId)).toEqual({ refunded: '800', reserved: '0' });
    expect(await events([refund])).toEqual(['refund.succeeded']);
  });
});
