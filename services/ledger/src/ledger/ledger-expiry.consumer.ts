import { Controller } from '@nestjs/common';
import { Task } from '@clearline/tasks';
import { LEDGER_WRITE_RETRY } from './ledger.consumer';
import { EXPIRE_PENDINGS_TASK, LedgerExpiryService } from './ledger-expiry.service';

/** The expiry sweep as a task: the ledger's scheduler sends it every second. */
@Controller()
export class LedgerExpiryConsumer {
  constructor(private readonly expiry: LedgerExpiryService) {}

  // Nobody awaits a sweep: no result row per second (failures are still recorded).
  @Task(EXPIRE_PENDINGS_TASK, { senders: [], ...LEDGER_WRITE_RETRY, ignoreResult: true })
  async expirePendings(): Promise<{ expired: number }> {
    return { expired: await this.expiry.expireDue() };
  }
}
