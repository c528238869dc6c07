import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Ledger } from '@clearline/ledger-core';
import type { DataSource } from 'typeorm';
import { LedgerRepository } from './ledger.repository';
import { touched } from './ledger.service';
import { readCommitted } from '@clearline/persistence';

const SWEEP_INTERVAL_MS = 1_000;
const SWEEP_SIZE_MAX = 1_000;

/**
 * Releases pending transfers whose timeout has passed, as TigerBeetle does: their
 * reserved amounts return to the accounts and they can no longer be posted. Every
 * replica sweeps; SKIP LOCKED shares the work and a pending row being resolved by a
 * batch is left to that batch.
 */
@Injectable()
export class LedgerExpiryService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LedgerExpiryService.name);
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<unknown> = Promise.resolve();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly repository: LedgerRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.sweeping = this.sweep().catch((error: unknown) =>
        this.logger.warn(`expiring pending transfers failed: ${String(error)}`),
      );
    }, SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.sweeping;
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
