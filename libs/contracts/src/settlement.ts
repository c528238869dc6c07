import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

/**
 * Tasks of settlement. The gateway asks for a run (`startRun`); the settlement service
 * fans out one `settleMerchant` per merchant with activity and joins them in
 * `finalizeRun` (a chord); each settled currency gets a payout, paid by `payPayout`; what
 * merchants must hear goes back to the gateway as `event` (a webhook).
 */
export const SETTLEMENT_TASK = {
  startRun: 'settlement.start_run',
  settleMerchant: 'settlement.settle_merchant',
  finalizeRun: 'settlement.finalize_run',
  payPayout: 'settlement.pay_payout',
  /** gateway: records a settlement or payout event for the merchant and its webhook. */
  event: 'gateway.settlement_event',
} as const;

/** The statuses of a run, a payout (as the API shows them). */
export const SETTLEMENT_RUN_STATUSES = ['running', 'completed', 'partially_failed'] as const;
export type SettlementRunStatus = (typeof SETTLEMENT_RUN_STATUSES)[number];
export const PAYOUT_STATUSES = ['pending', 'paid', 'failed'] as const;
export type PayoutStatus = (typeof PAYOUT_STATUSES)[number];

/** Events settlement sends merchants. */
export const SETTLEMENT_EVENT_TYPES = [
  'settlement.completed',
  'payout.paid',
  'payout.failed',
] as const;
export type SettlementEventType = (typeof SETTLEMENT_EVENT_TYPES)[number];

/** A cut-off is Unix seconds; the latest one accepted is far in the future but finite. */
export const CUT_OFF_MAX_S = 253_402_300_799; // 9999-12-31T23:59:59Z

export class StartSettlementRunPayload {
  /** Unix seconds, inclusive; absent = now (a scheduled run). */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(CUT_OFF_MAX_S)
  cut_off?: number;
}

/** A run as the settlement service reports it (the gateway shapes the API object). */
export interface SettlementRunResult {
  id: string;
  cut_off: number;
  status: SettlementRunStatus;
  merchants: number;
  created: number;
  /** false when the cut-off had a run already (it is returned, and restarted if it failed). */
  is_new: boolean;
}

export class SettleMerchantPayload {
  @IsString()
  @Matches(/^srun_[A-Za-z0-9]{1,64}$/)
  run_id!: string;

  @IsString()
  @Matches(/^mer_[A-Za-z0-9]{1,64}$/)
  merchant_id!: string;

  /** The run's attempt this task belongs to (1 for the run's first pass). */
  @IsInt()
  @Min(1)
  @Max(1_000)
  attempt!: number;
}

export interface SettleMerchantResult {
  merchant_id: string;
  status: 'settled' | 'failed';
  settlements: string[];
  failure_code?: string;
}

export class FinalizeSettlementRunPayload {
  @IsString()
  @Matches(/^srun_[A-Za-z0-9]{1,64}$/)
  run_id!: string;
}

export class PayPayoutPayload {
  @IsString()
  @Matches(/^po_[A-Za-z0-9]{1,64}$/)
  payout_id!: string;
}

export class SettlementEventPayload {
  @IsIn(SETTLEMENT_EVENT_TYPES)
  type!: SettlementEventType;

  @IsString()
  @Matches(/^mer_[A-Za-z0-9]{1,64}$/)
  merchant_id!: string;

  /** The settlement (`stl_…`) or payout (`po_…`) the event is about. */
  @IsString()
  @Matches(/^(stl|po)_[A-Za-z0-9]{1,64}$/)
  object_id!: string;
}

/** The event's id derives from its object and type, so a repeated task records it once. */
export const settlementEventTaskId = (type: SettlementEventType, objectId: string): string =>
  `${objectId}:event:${type}`;
