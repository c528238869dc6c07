import { Injectable } from '@nestjs/common';
import { LEDGER_TASK, type BalancesResult } from '@clearline/contracts';
import { TaskClient } from '@clearline/tasks';
import type { BalanceAmountDto, BalanceDto } from './balance.dto';

/** How long a balance request waits for the ledger. */
export const BALANCE_TIMEOUT_MS = 5_000;

/**
 * The ledger's amounts are decimal strings; the API's are JSON integers, exact up to
 * 2^53 - 1 minor units (about 90 trillion dollars) per balance line.
 */
function toAmounts(lines: BalancesResult['available']): BalanceAmountDto[] {
  return lines.map((line) => {
    const amount = Number(line.amount);
    if (!Number.isSafeInteger(amount))
      throw new Error(`balance ${line.amount} is not exact in JSON`);
    return { amount, currency: line.currency.toLowerCase() };
  });
}

/** A merchant's balance, as the ledger (the system of record) knows it. */
@Injectable()
export class BalanceService {
  constructor(private readonly tasks: TaskClient) {}

  async retrieve(merchantId: string): Promise<BalanceDto> {
    const handle = await this.tasks.send<BalancesResult>(LEDGER_TASK.balances, {
      owner: merchantId,
    });
    const result = await handle.result({ timeoutMs: BALANCE_TIMEOUT_MS });
    return {
      object: 'balance',
      available: toAmounts(result.available),
      pending: toAmounts(result.pending),
    };
  }
}
