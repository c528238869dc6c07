import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { IsMinorUnits } from './amount';
import { OPERATION_RESUMES_MAX, PROCESSOR_REFERENCE_LENGTH_MAX } from './payment';

/** Tasks of the refund flow: the gateway asks, the refund service settles, the gateway records. */
export const REFUND_TASK = {
  /** refund service: hold the money in the ledger, refund at the processor, post or release. */
  process: 'refund.process_refund',
  /** gateway: the refund's outcome, applied to the refund and its payment. */
  settled: 'gateway.refund_settled',
} as const;

/** The outcome task's id is derived from the refund: whoever waits for it knows it. */
export const refundSettledTaskId = (refundId: string): string => `${refundId}:settled`;

/** Why a refund failed when the processor was not the reason. */
export const REFUND_FAILURE = {
  /** The merchant's balance cannot cover the refund (its accounts may not go negative). */
  insufficientFunds: 'insufficient_funds',
  /** The processor stayed unreachable through every retry. */
  processorUnavailable: 'processor_unavailable',
} as const;

export class ProcessRefundPayload {
  @IsString()
  @Matches(/^re_[A-Za-z0-9]{1,64}$/)
  refund_id!: string;

  @IsString()
  @Matches(/^pay_[A-Za-z0-9]{1,64}$/)
  payment_id!: string;

  @IsString()
  @Matches(/^mer_[A-Za-z0-9]{1,64}$/)
  merchant_id!: string;

  /** Minor units, as a string of digits, at most the bigint maximum. */
  @IsMinorUnits()
  amount!: string;

  /** ISO 4217, lower case, as on the payment. */
  @IsString()
  @Matches(/^[a-z]{3}$/)
  currency!: string;

  /** The payment's source token (the processor refunds to it). */
  @IsString()
  @MaxLength(200)
  source!: string;

  /** Absent for the refund's first task; n when the gateway's sweeper resumes it the n-th time. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(OPERATION_RESUMES_MAX)
  resume?: number;
}

/**
 * The result of `refund.process_refund`: how the refund ended. A refund that cannot end
 * yet (the ledger did not answer through every retry) or that hit a fault has no result:
 * its task is dead-lettered, for an operator to replay.
 */
export interface ProcessRefundResult {
  status: 'succeeded' | 'failed';
  /** Why it failed: the processor's reason or one of REFUND_FAILURE; null when it succeeded. */
  failure_reason: string | null;
  /** The processor's id of the refund when it succeeded; null when it failed. */
  processor_reference: string | null;
}

export class RefundSettledPayload {
  @IsString()
  @Matches(/^re_[A-Za-z0-9]{1,64}$/)
  refund_id!: string;

  @IsIn(['succeeded', 'failed'])
  status!: 'succeeded' | 'failed';

  @IsOptional()
  @IsString()
  @MaxLength(100)
  failure_reason?: string;

  /**
   * The processor's id of the refund, when it succeeded. Optional: an outcome sent by a
   * refund service that predates it still applies (the refund keeps no reference).
   */
  @IsOptional()
  @IsString()
  @MaxLength(PROCESSOR_REFERENCE_LENGTH_MAX)
  processor_reference?: string;
}
