import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Ledger } from '@clearline/ledger-core';
import type { TaskSchedule } from '@clearline/tasks';
import type { DataSource } from 'typeorm';
import { LedgerRepository } from './ledger.repository';
import { touched } from './ledger.service';
import { readCommitted } from '@clearline/persistence';

const SWEEP_SIZE_MAX = 1_000;
/** Batches one run expires at most: a backlog is worked off over the next runs. */
const SWEEP_BATCHES_MAX = 10;

/** The ledger's own task that runs one expiry sweep; sent by its schedule. */
export const EXPIRE_PENDINGS_TASK = 'ledger.expire_pendings';

/**
 * Every second, one sweep for the whole ledger (the replica leading the ledger's
 * scheduler sends it; any worker runs it). A sweep that misses its second is covered by
 * the next one, so a missed slot is worth sending only briefly (grace), and a sweep task
 * that waited in the queue for half a minute is dropped as stale (expires).
 */
export const EXPIRE_PENDINGS_SCHEDULE: TaskSchedule = {
  name: 'expire-pendings',
  task: EXPIRE_PENDINGS_TASK,
  everyMs: 1_000,
  graceMs: 2_000,
  expiresMs: 30_000,
};

/**
 * Releases pending transfers whose timeout has passed, as TigerBeetle does: their
 * reserved amounts return to the accounts and they can no longer be posted. It runs as
 * a task on the ledger's schedule (EXPIRE_PENDINGS_SCHEDULE), not a timer in every
 * replica; SKIP LOCKED still lets a sweep and a batch resolving the same pending row
 * pass each other, the row left to the batch.
 */
@Injectable()
export class LedgerExpiryService {
  private readonly logger = new Logger(LedgerExpiryService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly repository: LedgerRepository,
  ) {}

  /** Expires everything due now, batch after batch, up to SWEEP_BATCHES_MAX; returns how many. */
  async expireDue(): Promise<number> {
    let expired = 0;
    for (let batch = 0; batch < SWEEP_BATCHES_MAX; batch += 1) {
      // Sequential: each batch locks the accounts the next one may need.
      const ids = await this.sweep();
      expired += ids.length;
      if (ids.length < SWEEP_SIZE_MAX) break;
    }
    return expired;
  }

  /** Expires what is due now, up to one batch; returns the expired ids. */
  sweep(): Promise<string[]> {
    return readCommitted(this.dataSource, async (manager) => {
      const ids = await this.repository.lockExpiredPendings(manager, SWEEP_SIZE_MAX);
      if (ids.length === 0) return [];
      const stored = await this.repository.findTransfers(manager, ids);
      const accountIds = [
        ...new Set(stored.flatMap((s) => [s.transfer.debitAccountId, s.transfer.creditAccountId])),
      ].sort();
      const ledger = new Ledger();
      for (const account of await this.repository.lockAccounts(manager, accountIds)) {
        ledger.loadAccount(account);
      }
      for (const { transfer, status } of stored) ledger.loadTransfer(transfer, status ?? undefined);
      const expired = ledger.expirePendings(Math.floor(Date.now() / 1000));
      const changes = ledger.drainChanges();
      await this.repository.writeChanges(manager, {
        transfers: [],
        createdAt: new Date(),
        pending: [...changes.pendingStatus].map(([id, status]) => ({
          id,
          status,
          expiresAtS: null,
        })),
        accounts: touched(ledger, changes.touchedAccounts),
      });
      if (expired.length > 0) this.logger.log(`expired ${expired.length} pending transfers`);
      return expired;
    });
  }
}
