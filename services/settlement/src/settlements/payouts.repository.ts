import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { preparedStatement } from '@clearline/persistence';
import { enqueueTask } from '@clearline/tasks';
import { SETTLEMENT_TASK, settlementEventTaskId } from '@clearline/contracts';
import type { PayoutRow } from './settlement.rows';

/** The SQL of payouts. */
@Injectable()
export class PayoutsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async find(id: string): Promise<PayoutRow | undefined> {
    const rows: PayoutRow[] = await this.dataSource.query(
      preparedStatement(
        `SELECT id, merchant_id, currency, amount, status, settlement_id FROM payouts WHERE id = $1`,
      ),
      [id],
    );
    return rows[0];
  }

  /** Ends a pending payout and queues its event, once: only a pending payout moves. */
  async end(
    payout: PayoutRow,
    outcome: { status: 'paid' } | { status: 'failed'; reason: string },
  ): Promise<void> {
    await this.dataSource.transaction('READ COMMITTED', async (manager) => {
      const moved: unknown[] = await manager.query(
        preparedStatement(`WITH ended AS (
           UPDATE payouts SET status = $2, failure_code = $3, updated_at = now()
            WHERE id = $1 AND status = 'pending' RETURNING id)
         SELECT id FROM ended`),
        [payout.id, outcome.status, outcome.status === 'failed' ? outcome.reason : null],
      );
      if (moved.length === 0) return;
      const type = outcome.status === 'paid' ? 'payout.paid' : 'payout.failed';
      await enqueueTask(
        manager,
        SETTLEMENT_TASK.event,
        { type, merchant_id: payout.merchant_id, object_id: payout.id },
        { id: settlementEventTaskId(type, payout.id) },
      );
    });
  }
}
