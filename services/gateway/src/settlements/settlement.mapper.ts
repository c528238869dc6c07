import { StreamableFile } from '@nestjs/common';
import { HttpReply } from '../http/http-reply';
import { unixSeconds, type Plain } from '../http/wire';
import type { PayoutDto, SettlementDto, SettlementRunDto } from './settlement.dto';
import type { Payout, Settlement, SettlementRun } from './settlement.model';
import type { RecordedSettlementEvent } from './settlement-events.service';
import type { StartedRun } from './settlement-runs.service';
import type { SettlementReport } from './settlements.repository';

/** What `gateway.settlement_event` answers: the event, and whether this run recorded it. */
export interface SettlementEventTaskResult {
  event_id: string;
  recorded: boolean;
}

/**
 * An amount as a JSON integer: sums of a settlement are exact up to 2^53 − 1 minor
 * units (about 90 trillion dollars); a larger one is a fault, never a rounded answer.
 */
function exact(amount: bigint, what: string): number {
  const value = Number(amount);
  if (!Number.isSafeInteger(value)) throw new Error(`${what} ${amount} is not exact in JSON`);
  return value;
}

export function toSettlementRunDto(run: SettlementRun): Plain<SettlementRunDto> {
  return {
    id: run.id,
    object: 'settlement_run',
    cut_off: unixSeconds(run.cutOff),
    status: run.status,
    merchants: run.merchants,
    created: unixSeconds(run.createdAt),
    completed: run.completedAt && unixSeconds(run.completedAt),
  };
}

/** The REST settlement object (also an event's `data.object`). */
export function toSettlementDto(settlement: Settlement): Plain<SettlementDto> {
  const what = `settlement ${settlement.id}`;
  return {
    id: settlement.id,
    object: 'settlement',
    run: settlement.runId,
    currency: settlement.currency,
    count: settlement.count,
    gross: exact(settlement.gross, `${what} gross`),
    refunds: exact(settlement.refunds, `${what} refunds`),
    fees: exact(settlement.fees, `${what} fees`),
    net: exact(settlement.net, `${what} net`),
    payout: settlement.payoutId,
    fees_carried_in: exact(settlement.feesCarriedIn, `${what} fees_carried_in`),
    fees_carried_out: exact(settlement.feesCarriedOut, `${what} fees_carried_out`),
    created: unixSeconds(settlement.createdAt),
  };
}

/** The REST payout object (also an event's `data.object`). */
export function toPayoutDto(payout: Payout): Plain<PayoutDto> {
  return {
    id: payout.id,
    object: 'payout',
    amount: exact(payout.amount, `payout ${payout.id} amount`),
    currency: payout.currency,
    status: payout.status,
    settlement: payout.settlementId,
    failure_code: payout.failureCode,
    created: unixSeconds(payout.createdAt),
  };
}

export function toSettlementEventTaskResult(
  recorded: RecordedSettlementEvent,
): SettlementEventTaskResult {
  return { event_id: recorded.eventId, recorded: recorded.recorded };
}

/** A run's answer: 201 when the request started it, 200 when its cut-off had it already. */
export function toStartedRunReply(started: StartedRun): HttpReply {
  return new HttpReply(started.isNew ? 201 : 200, toSettlementRunDto(started.run));
}

/** A report as the HTTP answer: CSV, streamed, named after the settlement. */
export function toReportFile(report: SettlementReport): StreamableFile {
  return new StreamableFile(report.lines, {
    type: 'text/csv; charset=utf-8',
    disposition: `attachment; filename="${report.settlement.id}.csv"`,
  });
}
