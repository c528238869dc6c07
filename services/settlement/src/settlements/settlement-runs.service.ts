import { Injectable, Logger } from '@nestjs/common';
import { newId, SETTLEMENT_TASK, type SettlementRunResult } from '@clearline/contracts';
import { chord, enqueueWorkflow, si } from '@clearline/tasks';
import type { EntityManager } from 'typeorm';
import type { RunRow } from './settlement.rows';
import { settlementMetrics } from './settlement-metrics';
import { SettlementRunsRepository } from './settlement-runs.repository';
import { SettlementError, SettlementErrorCode } from './settlement.exception';

/**
 * Runs: one per cut-off. Starting a run records it with the merchants that have activity
 * and sends a chord (one `settle_merchant` per merchant, then `finalize_run`) through the
 * outbox in the same transaction. The same cut-off again returns the run; if it ended
 * `partially_failed`, its failed merchants are settled again in a new attempt (a new
 * chord), and only what is missing moves.
 */
@Injectable()
export class SettlementRunsService {
  private readonly logger = new Logger(SettlementRunsService.name);

  constructor(private readonly runs: SettlementRunsRepository) {}

  async start(manager: EntityManager, cutOffS: number | undefined): Promise<SettlementRunResult> {
    const cutOff = new Date((cutOffS ?? Math.floor(Date.now() / 1_000)) * 1_000);
    const { run, isNew } = await this.runs.claimRun(manager, newId('srun'), cutOff);
    if (isNew) {
      const merchants = await this.runs.merchantsWithActivity(manager, cutOff);
      await this.runs.addMerchants(manager, run.id, merchants);
      await this.dispatch(manager, run.id, 1, merchants);
      settlementMetrics.runs.inc({ outcome: 'started' });
      this.logger.log(
        `run ${run.id} (cut-off ${cutOff.toISOString()}): ${merchants.length} merchants`,
      );
      return runResult({ ...run, merchants: merchants.length }, true);
    }
    if (run.status !== 'partially_failed') return runResult(run, false);
    const restart = await this.runs.restartFailed(manager, run);
    await this.dispatch(manager, run.id, restart.attempt, restart.merchants);
    settlementMetrics.runs.inc({ outcome: 'restarted' });
    this.logger.log(
      `run ${run.id} again (attempt ${restart.attempt}): ${restart.merchants.length} merchants`,
    );
    return runResult({ ...run, status: 'running', attempt: restart.attempt }, false);
  }

  async finalize(manager: EntityManager, runId: string): Promise<SettlementRunResult> {
    const finished = await this.runs.finish(manager, runId);
    const run = finished ?? (await this.runs.run(manager, runId));
    if (run === undefined) {
      throw new SettlementError(`run ${runId} does not exist`, SettlementErrorCode.NotFound);
    }
    if (finished && finished.status !== 'running') {
      settlementMetrics.runs.inc({ outcome: finished.status });
      this.logger.log(`run ${runId}: ${finished.status}`);
    }
    return runResult(run, false);
  }

  /** The chord of an attempt; a run with no merchant is finalized through it as well. */
  private async dispatch(
    manager: EntityManager,
    runId: string,
    attempt: number,
    merchants: readonly string[],
  ): Promise<void> {
    const finalize = si(
      SETTLEMENT_TASK.finalizeRun,
      { run_id: runId },
      { id: `${runId}:a${attempt}:finalize` },
    );
    if (merchants.length === 0) {
      await enqueueWorkflow(manager, finalize);
      return;
    }
    const members = merchants.map((merchantId) =>
      si(
        SETTLEMENT_TASK.settleMerchant,
        { run_id: runId, merchant_id: merchantId, attempt },
        { id: `${runId}:a${attempt}:${merchantId}` },
      ),
    );
    // A member that dead-letters (a fault, not a refusal) fails the chord: the run is
    // finalized then too, partially failed, so it never stays running.
    const onError = si(
      SETTLEMENT_TASK.finalizeRun,
      { run_id: runId },
      { id: `${runId}:a${attempt}:finalize-on-error` },
    );
    await enqueueWorkflow(
      manager,
      chord(
        members,
        si(
          SETTLEMENT_TASK.finalizeRun,
          { run_id: runId },
          {
            id: finalize.options.id,
            linkError: [onError],
          },
        ),
      ),
    );
  }
}

function runResult(run: RunRow, isNew: boolean): SettlementRunResult {
  return {
    id: run.id,
    cut_off: Math.floor(run.cut_off.getTime() / 1_000),
    status: run.status,
    merchants: run.merchants,
    created: Math.floor(run.created_at.getTime() / 1_000),
    is_new: isNew,
  };
}
