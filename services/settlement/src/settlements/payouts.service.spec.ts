import type { PayoutsRepository } from './payouts.repository';
import { PayoutsService } from './payouts.service';
import type { SettlementLedger } from './settlement-ledger';
import { SettlementError, SettlementErrorCode } from './settlement.exception';
import type { PayoutRow } from './settlement.rows';

const PAYOUT: PayoutRow = {
  id: 'po_1',
  merchant_id: 'mer_1',
  currency: 'usd',
  amount: '5000',
  status: 'pending',
  settlement_id: 'stl_1',
};

/** The payout's steps around stubs: what reached the ledger, the rail and the payout row. */
function payouts(hold: () => Promise<void>) {
  const calls: string[] = [];
  const ended: unknown[] = [];
  const service = new PayoutsService(
    {
      find: () => Promise.resolve(PAYOUT),
      end: (_payout: PayoutRow, outcome: unknown) => {
        ended.push(outcome);
        return Promise.resolve();
      },
    } as unknown as PayoutsRepository,
    {
      hold: () => {
        calls.push('hold');
        return hold();
      },
      postHold: () => {
        calls.push('post');
        return Promise.resolve();
      },
      voidHold: () => {
        calls.push('void');
        return Promise.resolve();
      },
    } as unknown as SettlementLedger,
    {
      pay: () => {
        calls.push('rail');
        return Promise.resolve({ status: 'paid', reference: 'ref' });
      },
    },
  );
  return { service, calls, ended };
}

describe('PayoutsService', () => {
  it('holds, pays and posts a payout', async () => {
    const { service, calls, ended } = payouts(() => Promise.resolve());
    await expect(service.pay('po_1')).resolves.toEqual({ payout_id: 'po_1', status: 'paid' });
    expect(calls).toEqual(['hold', 'rail', 'post']);
    expect(ended).toEqual([{ status: 'paid' }]);
  });

  it('fails a payout whose hold the balance no longer covers, without asking the rail', async () => {
    const { service, calls, ended } = payouts(() =>
      Promise.reject(new SettlementError('exceeds_credits', SettlementErrorCode.LedgerRefused)),
    );
    await expect(service.pay('po_1')).resolves.toEqual({ payout_id: 'po_1', status: 'failed' });
    expect(calls).toEqual(['hold']);
    expect(ended).toEqual([{ status: 'failed', reason: 'insufficient_funds' }]);
  });

  it('leaves a payout pending when the ledger did not answer its hold (the task retries)', async () => {
    const { service, ended } = payouts(() =>
      Promise.reject(new SettlementError('no answer', SettlementErrorCode.LedgerUnavailable)),
    );
    await expect(service.pay('po_1')).rejects.toBeInstanceOf(SettlementError);
    expect(ended).toEqual([]);
  });
});
