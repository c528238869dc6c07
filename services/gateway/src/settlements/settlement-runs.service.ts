import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import {
  SETTLEMENT_TASK,
  type SettlementRunResult,
  type StartSettlementRunPayload,
} from '@clearline/contracts';
import { TaskClient } from '@clearline/tasks';
import type { GatewayEnvironment } from '../gateway.env';
import type { SettlementRun } from './settlement.model';
import { SettlementError, SettlementErrorCode } from './settlements.exception';
import { SettlementsRepository } from './settlements.repository';

/** A run as started: `isNew` is false when its cut-off had a run already. */
export interface StartedRun {
  run: SettlementRun;
  isNew: boolean;
}

/**
 * The operators' settlement runs. The settlement service starts a run
 * (`settlement.start_run`, one run per cut-off, so the same cut-off answers the same run
 * and no money moves twice); the gateway waits for its answer within
 * `SETTLEMENT_RUN_WAIT_MS` (publish and answer together), past which the request
 * answers 503 and may be repeated with the same cut-off.
 */
@Injectable()
export class SettlementRunsService {
  private readonly waitMs: number;

  constructor(
    private readonly tasks: TaskClient,
    private readonly runs: SettlementsRepository,
    config: ConfigService<GatewayEnvironment, true>,
  ) {
    this.waitMs = config.get('SETTLEMENT_RUN_WAIT_MS', { infer: true });
  }

  /** Starts the run of `cutOffS` (Unix seconds; now when undefined), or finds it. */
  async start(cutOffS: number | undefined, now = new Date()): Promise<StartedRun> {
    const nowS = Math.floor(now.getTime() / 1_000);
    if (cutOffS !== undefined && cutOffS > nowS) {
      throw new SettlementError(
        `cut_off ${cutOffS} is in the future (now is ${nowS})`,
        SettlementErrorCode.CutOffInFuture,
      );
    }
    // Now is resolved here, so a retry of a 503 can name the cut-off the first meant.
    const payload: StartSettlementRunPayload = { cut_off: cutOffS ?? nowS };
    const deadlineMs = Date.now() + this.waitMs;
    const handle = await this.tasks.send<SettlementRunResult>(SETTLEMENT_TASK.startRun, payload, {
      confirmTimeoutMs: this.waitMs,
    });
    const result = await handle.result({ timeoutMs: Math.max(1, deadlineMs - Date.now()) });
    // The row shows what the task's answer does not (`completed`); the answer stands in
    // for it only if the row cannot be read.
    const run = (await this.runs.findRun(result.id)) ?? fromResult(result);
    return { run, isNew: result.is_new };
  }

  async retrieve(id: string): Promise<SettlementRun> {
    const run = await this.runs.findRun(id);
    if (!run) throw SettlementError.runNotFound(id);
    return run;
  }
}

function fromResult(result: SettlementRunResult): SettlementRun {
  return {
    id: result.id,
    cutOff: new Date(result.cut_off * 1_000),
    status: result.status,
    merchants: result.merchants,
    createdAt: new Date(result.created * 1_000),
    completedAt: null,
  };
}
