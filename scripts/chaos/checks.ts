import { isDeepStrictEqual } from 'node:util';
import type {
  Answer,
  ChaosState,
  PaymentRow,
  RefundRow,
  RequestRecord,
  TransferRow,
} from './model';

const PAYMENT_TERMINAL = new Set(['succeeded', 'failed', 'canceled']);
const REFUND_TERMINAL = new Set(['succeeded', 'failed']);

/** An answer that settles a request: 2xx or 4xx, except 409 (the key was busy) and 429. */
export function isSettledAnswer(answer: Answer): boolean {
  const { status } = answer;
  if (status === null) return false;
  if (status === 409 || status === 429) return false;
  return status >= 200 && status < 500;
}

/** What a replay of the request must answer: its first answer if that settled it, else its final. */
export function expectedReplay(request: RequestRecord): Answer {
  return isSettledAnswer(request.first) ? request.first : request.final;
}

function describe(request: RequestRecord): string {
  return `${request.kind} ${request.key}`;
}

function checkRequests(state: ChaosState): string[] {
  const found: string[] = [];
  for (const request of state.requests) {
    if (!isSettledAnswer(request.final)) {
      found.push(`${describe(request)}: no final answer (${String(request.final.status)})`);
      continue;
    }
    if (request.final.status !== null && request.final.status >= 500) {
      found.push(`${describe(request)}: answered ${request.final.status}`);
    }
    const expected = expectedReplay(request);
    const replay = request.replay;
    if (!replay) {
      found.push(`${describe(request)}: not replayed`);
    } else if (
      replay.status !== expected.status ||
      !isDeepStrictEqual(replay.body, expected.body)
    ) {
      found.push(
        `${describe(request)}: replay answered ${String(replay.status)} ${JSON.stringify(replay.body)}, ` +
          `not ${String(expected.status)} ${JSON.stringify(expected.body)}`,
      );
    }
  }
  return found;
}

/** The ids of payments and refunds some answer named (what clients know exists). */
function answeredIds(requests: readonly RequestRecord[]): Set<string> {
  const ids = new Set<string>();
  for (const request of requests) {
    for (const answer of [request.first, request.final, request.replay]) {
      const body = answer?.body as { id?: unknown; error?: { payment?: unknown } } | undefined;
      if (typeof body?.id === 'string') ids.add(body.id);
      // A card error (402) names the failed payment.
      if (typeof body?.error?.payment === 'string') ids.add(body.error.payment);
    }
  }
  return ids;
}

type Transfers = ReadonlyMap<string, TransferRow>;

function expectTransfer(
  found: string[],
  transfers: Transfers,
  id: string,
  amount: bigint | null,
  pendingStatus?: string,
): void {
  const transfer = transfers.get(id);
  if (!transfer) {
    found.push(`transfer ${id}: missing`);
    return;
  }
  if (amount !== null && transfer.amount !== amount) {
    found.push(`transfer ${id}: amount ${transfer.amount}, expected ${amount}`);
  }
  if (pendingStatus !== undefined && transfer.pendingStatus !== pendingStatus) {
    found.push(`transfer ${id}: ${String(transfer.pendingStatus)}, expected ${pendingStatus}`);
  }
}

function expectNoTransfer(found: string[], transfers: Transfers, id: string, why: string): void {
  if (transfers.has(id)) found.push(`transfer ${id}: exists, but ${why}`);
}

/** A hold or authorization that must not move money: absent, or released. */
function expectReleased(found: string[], transfers: Transfers, id: string): void {
  const transfer = transfers.get(id);
  if (transfer && transfer.pendingStatus !== 'voided' && transfer.pendingStatus !== 'expired') {
    found.push(`transfer ${id}: ${String(transfer.pendingStatus)}, expected released or absent`);
  }
}

function checkPayment(found: string[], p: PaymentRow, transfers: Transfers): void {
  const ids = { auth: `${p.id}:auth`, capture: `${p.id}:capture`, void: `${p.id}:void` };
  if (!PAYMENT_TERMINAL.has(p.status)) {
    found.push(`payment ${p.id}: ${p.status}, not terminal`);
    return;
  }
  if (p.status === 'succeeded') {
    expectTransfer(found, transfers, ids.auth, p.amount, 'posted');
    expectTransfer(found, transfers, ids.capture, p.captured);
    expectNoTransfer(found, transfers, ids.void, 'the payment succeeded');
  } else if (p.status === 'canceled') {
    expectTransfer(found, transfers, ids.auth, p.amount, 'voided');
    expectTransfer(found, transfers, ids.void, null);
    expectNoTransfer(found, transfers, ids.capture, 'the payment was canceled');
  } else {
    expectReleased(found, transfers, ids.auth);
    expectNoTransfer(found, transfers, ids.capture, 'the payment failed');
  }
  if (p.status !== 'succeeded' && p.captured !== 0n) {
    found.push(`payment ${p.id}: ${p.status} with amount_captured ${p.captured}`);
  }
}

function checkRefund(found: string[], r: RefundRow, transfers: Transfers): void {
  const ids = { hold: `${r.id}:hold`, post: `${r.id}:post` };
  if (!REFUND_TERMINAL.has(r.status)) {
    found.push(`refund ${r.id}: ${r.status}, not terminal`);
    return;
  }
  if (r.status === 'succeeded') {
    expectTransfer(found, transfers, ids.hold, r.amount, 'posted');
    expectTransfer(found, transfers, ids.post, r.amount);
  } else {
    expectReleased(found, transfers, ids.hold);
    expectNoTransfer(found, transfers, ids.post, 'the refund failed');
  }
}

function checkMoney(state: ChaosState): string[] {
  const found: string[] = [];
  const transfers = new Map(state.transfers.map((t) => [t.id, t]));
  const refunded = new Map<string, bigint>();
  for (const r of state.refunds) {
    checkRefund(found, r, transfers);
    if (r.status === 'succeeded')
      refunded.set(r.payment, (refunded.get(r.payment) ?? 0n) + r.amount);
  }
  const net = new Map<string, bigint>();
  for (const p of state.payments) {
    checkPayment(found, p, transfers);
    const paid = refunded.get(p.id) ?? 0n;
    if (p.refunded !== paid) {
      found.push(`payment ${p.id}: amount_refunded ${p.refunded}, its refunds sum to ${paid}`);
    }
    if (p.status === 'succeeded')
      net.set(p.merchant, (net.get(p.merchant) ?? 0n) + p.captured - paid);
  }
  for (const b of state.balances) {
    const expected = net.get(b.merchant) ?? 0n;
    const posted = b.creditsPosted - b.debitsPosted;
    if (posted !== expected) {
      found.push(
        `merchant ${b.merchant}: posted balance ${posted}, its payments and refunds net ${expected}`,
      );
    }
    if (b.debitsPending !== 0n || b.creditsPending !== 0n) {
      found.push(
        `merchant ${b.merchant}: pending ${b.debitsPending} debits, ${b.creditsPending} credits left`,
      );
    }
  }
  return found;
}

function checkAccepted(state: ChaosState): string[] {
  const answered = answeredIds(state.requests);
  return [...state.payments, ...state.refunds]
    .filter((object) => !answered.has(object.id))
    .map((object) => `${object.id}: created, but no answer to any request names it`);
}

function checkTasks(state: ChaosState): string[] {
  const deadLettered = new Set(state.deadLetters.map((d) => d.id));
  return [
    ...state.unfinishedTasks
      .filter((task) => !deadLettered.has(task.id))
      .map((task) => `task ${task.id} (${task.task}): stuck in ${task.state}`),
    ...state.deadLetters
      .filter((d) => d.reason === '' || d.reason === 'unknown')
      .map((d) => `dead letter ${d.id} (${d.queue}): no reason`),
  ];
}

function checkQuiet(state: ChaosState): string[] {
  const { operations, outbox, queued } = state.inFlight;
  return operations + outbox + queued === 0
    ? []
    : [
        `still in flight: ${operations} operations, ${outbox} outbox rows, ${queued} queued messages`,
      ];
}

/**
 * Every violation of the run's promises in `state`: each request settled and replayed
 * as first answered; each payment and refund terminal, its ledger transfers there once
 * with the right amounts (ids are derived, so "once" is "present and nothing extra"),
 * each merchant's balance its payments net of refunds, the ledger's own check clean,
 * every task finished or dead-lettered with a reason, nothing left in flight, no service
 * dead but by the faults' hand.
 */
export function chaosViolations(state: ChaosState): string[] {
  return [
    ...state.crashes,
    ...checkQuiet(state),
    ...checkRequests(state),
    ...checkAccepted(state),
    ...checkMoney(state),
    ...(state.ledgerCheck.balanced ? [] : ['ledger check: not balanced']),
    ...state.ledgerCheck.violations.map((v) => `ledger check: ${v}`),
    ...checkTasks(state),
  ];
}
