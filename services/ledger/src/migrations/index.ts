import { CreateLedgerTables1764100000000 } from './1764100000000-CreateLedgerTables';

/** The ledger's migrations, in order. */
export const LEDGER_MIGRATIONS = [CreateLedgerTables1764100000000];
