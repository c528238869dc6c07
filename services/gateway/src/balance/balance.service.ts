import { Injectable } from '@nestjs/common';
import { LEDGER_TASK, type BalancesPayload, type BalancesResult } from '@clearline/contracts';
import { TaskClient } from '@clearline/tasks';

/**
 * How long a balance request waits for the ledger, publish and answer together; past
 * it the request answers 503 `service_unavailable`.
 */
export const BALANCE_TIMEOUT_MS = 5_000;

/** An amount of one currency, in minor units. */
export interface BalanceAmount {
  /** ISO 4217, as the ledger writes it (upper case). */
  currency: string;
  amount: bigint;
}

/** A merchant's money per currency: settled (`available`) and captured, not settled (`pending`). */
export interface Balance {
  available: BalanceAmount[];
  pending: BalanceAmount[];
}

function toAmounts(lines: BalancesResult['available']): BalanceAmount[] {
  return lines.map((line) => ({ currency: line.currency, amount: BigInt(line.amount) }));
}

/** A merchant's balance, as the ledger (the system of record) knows it. */
@Injectable()
export class BalanceService {
  constructor(private readonly tasks: TaskClient) {}

  async retrieve(merchantId: string): Promise<Balance> {
    const payload: BalancesPayload = { owner: merchantId };
    // A query: the answer reaches this request by notification; no task row per call.
    // One budget for the whole round trip: the publish's confirm, then the answer.
    const deadlineMs = Date.now() + BALANCE_TIMEOUT_MS;
    const handle = await this.tasks.send<BalancesResult>(LEDGER_TASK.balances, payload, {
      ignoreResult: true,
      confirmTimeoutMs: BALANCE_TIMEOUT_MS,
    });
    const result = await handle.result({ timeoutMs: Math.max(1, deadlineMs - Date.now()) });
    return { available: toAmounts(result.available), pending: toAmounts(result.pending) };
  }
}
