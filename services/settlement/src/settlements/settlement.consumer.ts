import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import {
  FinalizeSettlementRunPayload,
  PayPayoutPayload,
  SETTLEMENT_TASK,
  SettleMerchantPayload,
  StartSettlementRunPayload,
  type SettleMerchantResult,
  type SettlementRunResult,
} from '@clearline/contracts';
import { isTransientDatabaseError } from '@clearline/persistence';
import { Task, TaskContext, type TaskHandlerOptions } from '@clearline/tasks';
import { MerchantSettlementService } from './merchant-settlement.service';
import { PayoutsService } from './payouts.service';
import { SettlementRunsService } from './settlement-runs.service';
import { isTransientSettlementError } from './settlement.exception';

/**
 * Retried: a ledger or rail that did not answer, and transient database errors. The
 * ledger's answer is read back by task id, so a retry never posts twice.
 */
export const SETTLEMENT_RETRY = {
  retryOn: [isTransientDatabaseError, isTransientSettlementError],
  retryCountMax: 5,
  retryBackoffMs: 200,
  retryBackoffMaxMs: 10_000,
} as const satisfies TaskHandlerOptions;

@Controller()
export class SettlementConsumer {
  constructor(
    private readonly runs: SettlementRunsService,
    private readonly merchants: MerchantSettlementService,
    private readonly payouts: PayoutsService,
  ) {}

  @Task(SETTLEMENT_TASK.startRun, {
    senders: ['gateway'],
    payload: StartSettlementRunPayload,
    transactional: true,
    retryOn: [isTransientDatabaseError],
    retryCountMax: 3,
  })
  startRun(
    @Payload() payload: StartSettlementRunPayload,
    @Ctx() context: TaskContext,
  ): Promise<SettlementRunResult> {
    return this.runs.start(context.manager, payload.cut_off);
  }

  @Task(SETTLEMENT_TASK.settleMerchant, {
    senders: [],
    payload: SettleMerchantPayload,
    ...SETTLEMENT_RETRY,
  })
  settleMerchant(
    @Payload() payload: SettleMerchantPayload,
    @Ctx() context: TaskContext,
  ): Promise<SettleMerchantResult> {
    return this.merchants.settle(payload.run_id, payload.merchant_id, context);
  }

  @Task(SETTLEMENT_TASK.finalizeRun, {
    senders: [],
    payload: FinalizeSettlementRunPayload,
    transactional: true,
    retryOn: [isTransientDatabaseError],
    retryCountMax: 5,
  })
  finalizeRun(
    @Payload() payload: FinalizeSettlementRunPayload,
    @Ctx() context: TaskContext,
  ): Promise<SettlementRunResult> {
    return this.runs.finalize(context.manager, payload.run_id);
  }

  @Task(SETTLEMENT_TASK.payPayout, { senders: [], payload: PayPayoutPayload, ...SETTLEMENT_RETRY })
  payPayout(@Payload() payload: PayPayoutPayload): Promise<{ payout_id: string; status: string }> {
    return this.payouts.pay(payload.payout_id);
  }
}
