import { LEDGER_TASK, type CreateTransfersResult, type TransferWire } from '@clearline/contracts';
import { checkLedger, type PendingStatus } from '@clearline/ledger-core';
import { decodeTask, payloadOf } from '../../tasks/src/protocol/celery-message';
import type { Delivery, SimBroker } from './broker';
import type { MemoryDatabase } from './database';
import type { Process } from './scheduler';

/**
 * The outcome a worker gave a delivery must be durable before its ack: an applied task's
 * SUCCESS committed, a retry's RETRY recorded (after its new message was confirmed), a
 * dead letter in its queue. Checked at every ack.
 */
export function ackViolation(
  delivery: Delivery,
  db: MemoryDatabase,
  broker: SimBroker,
): string | null {
  const id = delivery.message.taskId;
  const state = db.committed.results.get(id)?.state;
  const durable = ((): boolean => {
    switch (delivery.outcome) {
      case 'success':
        return state === 'SUCCESS';
      case 'retry':
        return state !== undefined;
      case 'dead-letter':
        return broker.deadLetters.some((letter) => letter.taskId === id);
      case 'revoked':
        return state === 'REVOKED';
      case 'sent-round':
        return true;
      case undefined:
        return false;
    }
  })();
  return durable
    ? null
    : `ack before commit: ${id} acked as ${delivery.outcome ?? 'nothing'} with ${state ?? 'no'} result committed`;
}

/** Everything that must hold once a seed has run to quiet. */
export function checkWorld(
  db: MemoryDatabase,
  broker: SimBroker,
  producers: readonly Process[],
): string[] {
  return [
    ...checkLedgerInvariants(db),
    ...checkExactlyOnce(db, broker),
    ...checkSettled(db, broker),
    ...producers.filter((p) => !p.done).map((p) => `producer ${p.name} never finished`),
  ];
}

/** `checkLedger`: per currency debits equal credits; balances equal their transfers; flags hold. */
function checkLedgerInvariants(db: MemoryDatabase): string[] {
  const { accounts, transfers, pending } = db.committed;
  const status = new Map<string, PendingStatus>([...pending].map(([id, row]) => [id, row.status]));
  const stored = [...transfers.values()].map((s) => s.transfer);
  return checkLedger(accounts.values(), stored, status).violations;
}

/** The transfers of a task as its producer published them. */
function wireTransfers(broker: SimBroker, taskId: string): TransferWire[] {
  const first = broker.firstMessages.get(taskId);
  if (!first) return [];
  const payload = payloadOf(decodeTask(first.content, first.properties)) as {
    transfers?: TransferWire[];
  };
  return payload.transfers ?? [];
}

/**
 * Every accepted transfer applied exactly once: each SUCCESS row's `ok`/`exists` names a
 * transfer that is in the ledger as it was sent; each stored transfer was inserted once,
 * by the one task whose committed result says `ok`; no task committed SUCCESS twice.
 */
function checkExactlyOnce(db: MemoryDatabase, broker: SimBroker): string[] {
  const violations: string[] = [];
  for (const [id, count] of db.successCommits) {
    if (count > 1) violations.push(`task ${id}: SUCCESS committed ${count} times (it ran again)`);
  }
  for (const [id, count] of db.transferInserts) {
    if (count !== 1) violations.push(`transfer ${id}: inserted ${count} times`);
  }
  const okBy = new Map<string, string[]>();
  for (const [taskId, row] of db.committed.results) {
    if (row.state !== 'SUCCESS' || row.task !== LEDGER_TASK.createTransfers) continue;
    const wires = wireTransfers(broker, taskId);
    const { results } = row.result as CreateTransfersResult;
    results.forEach((result, i) => {
      const wire = wires[i];
      if (!wire) return void violations.push(`task ${taskId}: result ${i} has no transfer`);
      if (result === 'ok') okBy.set(wire.id, [...(okBy.get(wire.id) ?? []), taskId]);
      if (result !== 'ok' && result !== 'exists') return;
      const stored = db.committed.transfers.get(wire.id)?.transfer;
      if (!stored) {
        violations.push(
          `task ${taskId}: transfer ${wire.id} accepted (${result}), not in the ledger`,
        );
        return;
      }
      const same =
        (wire.amount === undefined || BigInt(wire.amount) === stored.amount) &&
        (wire.debit_account_id === undefined || wire.debit_account_id === stored.debitAccountId) &&
        (wire.credit_account_id === undefined ||
          wire.credit_account_id === stored.creditAccountId) &&
        (wire.pending_id ?? null) === stored.pendingId &&
        wire.code === stored.code;
      if (!same) violations.push(`task ${taskId}: transfer ${wire.id} stored with other fields`);
    });
  }
  for (const id of db.committed.transfers.keys()) {
    const oks = okBy.get(id) ?? [];
    if (oks.length !== 1) {
      violations.push(
        `transfer ${id}: in the ledger with ${oks.length} 'ok' results [${oks.join(' ')}]`,
      );
    }
  }
  return violations;
}

/**
 * Every task settled: SUCCESS recorded (and every copy acknowledged), or dead-lettered
 * with a reason; nothing left in a queue, unacknowledged, open or locked.
 */
function checkSettled(db: MemoryDatabase, broker: SimBroker): string[] {
  const violations: string[] = [];
  const backlog = broker.backlog();
  if (backlog > 0) violations.push(`${backlog} messages still queued or unacknowledged`);
  if (db.openTransactionCount > 0) violations.push(`${db.openTransactionCount} transactions open`);
  if (db.heldLockCount > 0) violations.push(`${db.heldLockCount} row locks held`);
  const dead = new Set(broker.deadLetters.filter((l) => l.reason.length > 0).map((l) => l.taskId));
  for (const id of broker.published) {
    const state = db.committed.results.get(id)?.state;
    if (state === 'SUCCESS' || dead.has(id)) continue;
    violations.push(`task ${id} not settled: ${state ?? 'no result'} and no dead letter`);
  }
  for (const [id, row] of db.committed.results) {
    if (row.state === 'FAILURE' && !dead.has(id))
      violations.push(`task ${id}: FAILURE, no dead letter`);
  }
  return violations;
}
