import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { LedgerRaceError, LedgerService } from './ledger.service';
import { readCommitted } from '@clearline/persistence';

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
    for (let attempt = 1; ; attempt += 1) {
      try {
        const results = await readCommitted(this.dataSource, (manager) =>
          this.ledger.openPlatform(manager),
        );
        const created = results.filter((r) => r === 'ok').length;
        if (created > 0) this.logger.log(`created ${created} platform accounts`);
        return;
      } catch (error) {
        if (!(error instanceof LedgerRaceError) || attempt >= 3) throw error;
      }
    }
  }
}
