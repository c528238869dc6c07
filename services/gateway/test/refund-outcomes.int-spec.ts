/**
 * The gateway ends the refunds whose outcomes arrive together in one statement (one
 * commit, one WAL flush, for all of them): each refund ends, its payment's reservation
 * is settled, and its event is recorded — also when several refunds of one payment end
 * in the same statement (their amounts add up; an UPDATE … FROM alone would apply one).
 * A refund ended twice at once ends, and is reported, once.
 *
 * How: the refunds repository on this file's own database (every migration applied),
 * rows written by SQL; statements counted by spying on the data source.
 */
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { isolatedInfrastructure, type IsolatedInfrastructure } from '@clearline/testing';
import { RefundsRepository, type RefundEnding } from '../src/refunds/refunds.repository';

describe('refund outcomes ended together', () => {
  let infra: IsolatedInfrastructure;
  let dataSource: DataSource;
  let refunds: RefundsRepository;
  const merchant = 'mer_outcomes';

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    dataSource = new DataSource({ type: 'postgres', url: infra.databaseUrl });
    await dataSource.initialize();
    refunds = new RefundsRepository(dataSource);
    await dataSource.query(
      `INSERT INTO merchants (id, name, webhook_secret, pricing_percent_bps, pricing_fixed)
       VALUES ($1, 'Outcomes', 'whsec_test', 0, 0)`,
      [merchant],
    );
  });

  afterAll(async () => {
    await dataSource.destroy();
    await infra.destroy();
  });

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
