/**
 * The refund service opens the jobs of refunds that arrive together in one statement (one
 * commit, one WAL flush, for all of them), and each delivery still gets its own job: a
 * new one, the one an earlier delivery opened (a redelivery finds it as it was), or its
 * own copy when the same refund is delivered twice at once.
 *
 * How: the repository on this file's own database (every migration applied); the
 * statements are counted by spying on the data source.
 */
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { isolatedInfrastructure, type IsolatedInfrastructure } from '@clearline/testing';
import { RefundJobsRepository } from '../src/refunds/refund-jobs.repository';
import type { RefundRequest } from '../src/refunds/refund-processing.service';

describe('refund jobs opened together', () => {
  let infra: IsolatedInfrastructure;
  let dataSource: DataSource;
  let jobs: RefundJobsRepository;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    dataSource = new DataSource({ type: 'postgres', url: infra.databaseUrl });
    await dataSource.initialize();
    jobs = new RefundJobsRepository(dataSource);
  });

  afterAll(async () => {
    await dataSource.destroy();
    await infra.destroy();
  });

  const request = (amount = 500n): RefundRequest => ({
    refundId: `re_${randomBytes(8).toString('hex')}`,
    paymentId: `pay_${randomBytes(8).toString('hex')}`,
    merchantId: 'mer_jobs',
    amount,
    currency: 'usd',
    source: 'tok_visa',
    round: 0,
  });

  it('opens the jobs of concurrent deliveries in one statement, each its own', async () => {
    const requests = Array.from({ length: 20 }, (_, i) => request(BigInt(100 + i)));
    const statements = jest.spyOn(dataSource, 'query');
    try {
      const opened = await Promise.all(requests.map((r) => jobs.open(r)));
      expect(statements).toHaveBeenCalledTimes(1);
      expect(opened.map((job) => [job.refund_id, job.amount, job.status])).toEqual(
        requests.map((r) => [r.refundId, r.amount.toString(), 'processing']),
      );
    } finally {
      statements.mockRestore();
    }
  });

  it('gives a redelivery the job as it was, and a refund delivered twice at once one job', async () => {
    const earlier = request();
    await jobs.open(earlier);
    await dataSource.query(
      `UPDATE refund_jobs SET status = 'succeeded', funded_from = 'pending' WHERE refund_id = $1`,
      [earlier.refundId],
    );
    const twice = request();
    const [again, first, second] = await Promise.all([
      jobs.open(earlier),
      jobs.open(twice),
      jobs.open(twice),
    ]);
    expect(again).toMatchObject({ status: 'succeeded', funded_from: 'pending' });
    expect(first).toEqual(second);
    const rows = await dataSource.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM refund_jobs WHERE refund_id = $1`,
      [twice.refundId],
    );
    expect(rows[0]?.n).toBe(1);
  });
});
