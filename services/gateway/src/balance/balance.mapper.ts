import type { BalanceAmountDto, BalanceDto } from './balance.dto';
import type { Balance, BalanceAmount } from './balance.service';

/**
 * The API's amounts are JSON integers, exact up to 2^53 - 1 minor units (about 90
 * trillion dollars) per balance line; a larger one is a fault, never a rounded answer.
 */
function toAmountDto(line: BalanceAmount): BalanceAmountDto {
  const amount = Number(line.amount);
  if (!Number.isSafeInteger(amount)) throw new Error(`balance ${line.amount} is not exact in JSON`);
  return { amount, currency: line.currency.toLowerCase() };
}

/** Stripe's balance object. */
export function toBalanceDto(balance: Balance): BalanceDto {
  return {
    object: 'balance',
    available: balance.available.map(toAmountDto),
    pending: balance.pending.map(toAmountDto),
  };
}
