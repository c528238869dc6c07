/**
 * The chaos checks can fail: a fabricated state of a clean run passes, and each broken
 * promise (a payment applied twice, a stuck task, a replay that differs, …) is named.
 */
import { chaosViolations } from './checks';
import type { ChaosState, RequestRecord } from './model';

const paid = { id: 'pay_1', object: 'payment', status: 'succeeded', amount: 1_000 };
const refunded = { id: 're_1', object: 'refund', status: 'succeeded', amount: 400 };

function request(kind: RequestRecord['kind'], body: unknown, status = 200): RequestRecord {
  const answer = { status, body };
  return {
    kind,
    merchantKey: 'sk_test_m',
    path: '/v1/x',
    body: {},
    key: `k_${kind}`,
    first: answer,
    final: answer,
    replay: answer,
  };
}

/** A run where one payment of 1,000 was captured and 400 of it refunded, all in order. */
function clean(): ChaosState {
  return {
    requests: [request('pay', paid), request('refund', refunded)],
    merchants: ['mer_1'],
    payments: [
      {
        id: 'pay_1',
        merchant: 'mer_1',
        amount: 1_000n,
        status: 'succeeded',
        captured: 1_000n,
        capturable: 0n,
        refunded: 400n,
      },
    ],
    refunds: [
      { id: 're_1', payment: 'pay_1', merchant: 'mer_1', amount: 400n, status: 'succeeded' },
    ],
    transfers: [
      { id: 'pay_1:auth', amount: 1_000n, pendingStatus: 'posted' },
      { id: 'pay_1:capture', amount: 1_000n, pendingStatus: null },
      { id: 're_1:hold', amount: 400n, pendingStatus: 'posted' },
      { id: 're_1:post', amount: 400n, pendingStatus: null },
    ],
    balances: [
      {
        merchant: 'mer_1',
        debitsPosted: 400n,
        creditsPosted: 1_000n,
        debitsPending: 0n,
        creditsPending: 0n,
      },
    ],
    ledgerCheck: { balanced: true, violations: [] },
    unfinishedTasks: [],
    deadLetters: [],
    inFlight: { operations: 0, outbox: 0, queued: 0 },
    crashes: [],
  };
}

describe('chaosViolations', () => {
  it('finds nothing in a clean run', () => {
    expect(chaosViolations(clean())).toEqual([]);
  });

  it('names a payment applied twice: its capture posted once more than captured', () => {
    const state = clean();
    state.transfers[1] = { id: 'pay_1:capture', amount: 2_000n, pendingStatus: null };
    state.balances[0] = { ...state.balances[0]!, creditsPosted: 2_000n };
    expect(chaosViolations(state)).toEqual([
      'transfer pay_1:capture: amount 2000, expected 1000',
      'merchant mer_1: posted balance 1600, its payments and refunds net 600',
    ]);
  });

  it('names a refund whose money never moved, and a payment left in flight', () => {
    const state = clean();
    state.transfers = state.transfers.filter((t) => t.id !== 're_1:post');
    state.payments.push({ ...state.payments[0]!, id: 'pay_2', status: 'capturing', refunded: 0n });
    state.requests.push(request('pay', { id: 'pay_2' }, 202));
    expect(chaosViolations(state)).toEqual([
      'transfer re_1:post: missing',
      'payment pay_2: capturing, not terminal',
    ]);
  });

  it('names a stuck task, and a dead letter without a reason; a dead-lettered task is settled', () => {
    const state = clean();
    state.unfinishedTasks = [
      { id: 't_stuck', task: 'ledger.create_transfers', state: 'STARTED' },
      { id: 't_dead', task: 'gateway.authorize_payment', state: 'STARTED' },
    ];
    state.deadLetters = [
      {
        id: 't_dead',
        queue: 'gateway',
        task: 'gateway.authorize_payment',
        reason: 'delivery-limit',
      },
      { id: 't_other', queue: 'ledger', task: null, reason: 'unknown' },
    ];
    expect(chaosViolations(state)).toEqual([
      'task t_stuck (ledger.create_transfers): stuck in STARTED',
      'dead letter t_other (ledger): no reason',
    ]);
  });

  it('names a replay that differs from the first answer, and one never answered for good', () => {
    const state = clean();
    const [pay, refund] = state.requests as [RequestRecord, RequestRecord];
    pay.replay = { status: 200, body: { ...paid, status: 'failed' } };
    refund.first = { status: 503, body: {} };
    refund.final = { status: null, body: 'reset' };
    refund.replay = refund.first;
    expect(chaosViolations(state)).toEqual([
      expect.stringMatching(/^pay k_pay: replay answered 200 .*"failed".*, not 200 .*"succeeded"/),
      'refund k_refund: no final answer (null)',
      're_1: created, but no answer to any request names it',
    ]);
  });

  it('takes a 5xx first answer as settled by its final answer, which the replay must give', () => {
    const state = clean();
    const refund = state.requests[1]!;
    refund.first = { status: 503, body: { error: { code: 'service_unavailable' } } };
    expect(chaosViolations(state)).toEqual([]);
    refund.replay = refund.first;
    expect(chaosViolations(state)).toEqual([
      expect.stringMatching(/^refund k_refund: replay answered 503/),
    ]);
  });

  it('names an unbalanced ledger, work left in flight and a service that died on its own', () => {
    const state = clean();
    state.crashes = ['gateway exited on its own (code 1)'];
    state.ledgerCheck = { balanced: false, violations: ['USD: posted debits 1 != credits 2'] };
    state.inFlight = { operations: 1, outbox: 0, queued: 2 };
    expect(chaosViolations(state)).toEqual([
      'gateway exited on its own (code 1)',
      'still in flight: 1 operations, 0 outbox rows, 2 queued messages',
      'ledger check: not balanced',
      'ledger check: USD: posted debits 1 != credits 2',
    ]);
  });
});
