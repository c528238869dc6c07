/** A payout as the rail sees it: our id is its idempotency key. */
export interface PayoutRequest {
  /** `po_…`: a rail pays one id at most once, however often it is asked. */
  id: string;
  merchantId: string;
  /** Minor units. */
  amount: bigint;
  /** ISO 4217, lower case. */
  currency: string;
}

export type PayoutOutcome =
  { status: 'paid'; reference: string } | { status: 'failed'; reason: string };

/** Thrown when the rail did not answer: the payout may or may not have been sent. */
export class PayoutRailUnavailableError extends Error {
  override readonly name = 'PayoutRailUnavailableError';
}

/** How money reaches a merchant's bank: a real rail is another implementation. */
export interface PayoutRail {
  pay(request: PayoutRequest): Promise<PayoutOutcome>;
}

/** Injection token for the configured payout rail. */
export const PAYOUT_RAIL = Symbol('PAYOUT_RAIL');

/**
 * The sandbox rail pays every payout at once, except an amount whose last three digits are
 * `013` (a closed bank account, for tests of a failed payout). Deterministic and without
 * state, so every process answers the same.
 */
export class SandboxPayoutRail implements PayoutRail {
  pay(request: PayoutRequest): Promise<PayoutOutcome> {
    if (request.amount % 1_000n === 13n) {
      return Promise.resolve({ status: 'failed', reason: 'account_closed' });
    }
    return Promise.resolve({ status: 'paid', reference: `sbx_payout_${request.id}` });
  }
}
