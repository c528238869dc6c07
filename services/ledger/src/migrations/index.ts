import type { MigrationSet } from '@clearline/persistence';
import { CreateLedgerTables1764100000000 } from './1764100000000-CreateLedgerTables';
import { RepairLedgerTablesDrift1796232571706 } from './1796232571706-RepairLedgerTablesDrift';
import { GrantLedgerTables1796300410000 } from './1796300410000-GrantLedgerTables';
import { IndexSettleablePostings1796311337231 } from './1796311337231-IndexSettleablePostings';

/** The ledger's migrations, in order. Landed migrations are never edited: append. */
export const LEDGER_MIGRATIONS = [
  CreateLedgerTables1764100000000,
  RepairLedgerTablesDrift1796232571706,
  GrantLedgerTables1796300410000,
  IndexSettleablePostings1796311337231,
];

/** The ledger's migrations with their owner, for the checksum checks. */
export const LEDGER_MIGRATION_SET: MigrationSet = {
  owner: 'ledger',
  migrations: LEDGER_MIGRATIONS,
};
