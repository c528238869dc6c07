/**
 * The refund service opens the jobs of refunds that arrive together in one statement (one
 * commit, one WAL flush, for all of them), and each delivery still gets its own job: a
 * new one, the one an earlier delivery opened (a redelivery finds it as it was), or its
 * own copy when the same refund is delivered twice at once. Jobs that end together end in
 * one statement too, each with its announcement to the gateway in the outbox, and a job
 * ended twice (two deliveries at once, or a redelivery) ends, and is announced, once.
 *
 * How: the repository on this file's own database (every migration applied); the
 * statements are counted by spying on the data source; the committed outbox (what
 * publishes the announcements after the commit) is a recorder.
 */
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import {
  isolatedInfrastructure,
  recordingCommittedOutbox,
  type IsolatedInfrastructure,
} from '@clearline/testing';
import { RefundJobsRepository, type JobEnd } from '../src/refunds/refund-jobs.repository';
import type { RefundRequest } from '../src/refunds/refund-processing.service';

describe('refund jobs opened together', () => {
  let infra: IsolatedInfrastructure;
  let dataSource: DataSource;
  let jobs: RefundJobsRepository;
  const { committed, sent } = recordingCommittedOutbox();

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    dataSource = new DataSource({ type: 'postgres', url: infra.databaseUrl });
    await dataSource.initialize();
    jobs = new RefundJobsRepository(dataSource, committed);
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

  const end = (refundId: string, status: 'succeeded' | 'failed'): JobEnd => ({
    refundId,
    outcome: {
      status,
      failureReason: status === 'failed' ? 'declined' : null,
      processorRefundId: status === 'succeeded' ? `sandbox_${refundId}` : null,
    },
    fundedFrom: 'pending',
    announce: {
      task: 'gateway.refund_settled',
      payload: { refund_id: refundId, status },
      options: { id: `${refundId}:settled` },
    },
  });

  async function announcements(refundIds: string[]): Promise<string[]> {
    const rows = await dataSource.query<{ task_id: string }[]>(
      `SELECT task_id FROM task_outbox WHERE task_id = ANY($1::text[]) ORDER BY task_id`,
      [refundIds.map((id) => `${id}:settled`)],
    );
    return rows.map((row) => row.task_id);
  }

  it('ends the jobs of concurrent deliveries in one statement, each announced once', async () => {
    const requests = Array.from({ length: 20 }, () => request());
    await Promise.all(requests.map((r) => jobs.open(r)));
    sent.length = 0;
    const statements = jest.spyOn(dataSource, 'query');
    let moved: boolean[];
    try {
      moved = await Promise.all(
        requests.map((r, i) => jobs.finish(end(r.refundId, i % 2 ? 'failed' : 'succeeded'))),
      );
      expect(statements).toHaveBeenCalledTimes(1);
    } finally {
      statements.mockRestore();
    }
    expect(moved).toEqual(requests.map(() => true));
    const ids = requests.map((r) => r.refundId);
    const ended = await dataSource.query<{ refund_id: string; status: string }[]>(
      `SELECT refund_id, status, funded_from, processor_refund_id FROM refund_jobs
        WHERE refund_id = ANY($1::text[])`,
      [ids],
    );
    const byId = new Map(ended.map((row) => [row.refund_id, row]));
    requests.forEach((r, i) => {
      expect(byId.get(r.refundId)).toMatchObject({
        status: i % 2 ? 'failed' : 'succeeded',
        funded_from: 'pending',
        processor_refund_id: i % 2 ? null : `sandbox_${r.refundId}`,
      });
    });
    const expected = ids.map((id) => `${id}:settled`).sort();
    expect(await announcements(ids)).toEqual(expected);
    expect([...sent].sort()).toEqual(expected);
  });

  it('ends a job delivered twice at once, or again later, once: one announcement', async () => {
    const twice = request();
    await jobs.open(twice);
    sent.length = 0;
    const [first, second] = await Promise.all([
      jobs.finish(end(twice.refundId, 'succeeded')),
      jobs.finish(end(twice.refundId, 'failed')),
    ]);
    expect([first, second]).toEqual([true, false]);
    await expect(jobs.finish(end(twice.refundId, 'failed'))).resolves.toBe(false);
    const [row] = await dataSource.query<{ status: string }[]>(
      `SELECT status FROM refund_jobs WHERE refund_id = $1`,
      [twice.refundId],
    );
    expect(row?.status).toBe('succeeded');
    expect(await announcements([twice.refundId])).toEqual([`${twice.refundId}:settled`]);
    expect(sent).toEqual([`${twice.refundId}:settled`]);
  });
});
