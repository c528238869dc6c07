import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { isTransientDatabaseError, readCommitted } from '@clearline/persistence';
import type { DataSource } from 'typeorm';
import { isTransientLedgerError } from './ledger.exception';
import { LedgerService } from './ledger.service';

/** Attempts at creating the platform's accounts before the start-up fails. */
const BOOTSTRAP_ATTEMPTS_MAX = 3;

/** Makes sure the platform's own accounts exist before the first transfer needs them. */
@Injectable()
export class LedgerBootstrapService implements OnApplicationBootstrap {
  private readonly logger = new Logger(LedgerBootstrapService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly ledger: LedgerService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Replicas starting together race to create them; the loser finds them on its retry.
    // Not a task, so no TaskContext: the same transient errors a ledger task retries are
    // retried here, a bounded number of times; anything else stops the start-up.
    for (let attempt = 1; ; attempt += 1) {
      try {
        const results = await readCommitted(this.dataSource, (manager) =>
          this.ledger.openPlatform(manager),
        );
        const created = results.filter((r) => r === 'ok').length;
        if (created > 0) this.logger.log(`created ${created} platform accounts`);
        return;
      } catch (error) {
        const transient = isTransientLedgerError(error) || isTransientDatabaseError(error);
        if (!transient || attempt >= BOOTSTRAP_ATTEMPTS_MAX) throw error;
      }
    }
  }
}
