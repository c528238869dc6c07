import type { MigrationSet } from '@clearline/persistence';
import { TASK_MIGRATION_SET } from '@clearline/tasks';
import { GATEWAY_MIGRATION_SET } from '../services/gateway/src/migrations';
import { LEDGER_MIGRATION_SET } from '../services/ledger/src/migrations';
import { REFUND_MIGRATION_SET } from '../services/refund/src/migrations';
import { SETTLEMENT_MIGRATION_SET } from '../services/settlement/src/migrations';

/**
 * Every migration set of the one Clearline database, each with its owner. Libraries
 * and services export their own; this list is where they meet, and `migration:run`
 * checks and applies all of them (an applied migration none lists is missing).
 */
export const MIGRATION_SETS: readonly MigrationSet[] = [
  TASK_MIGRATION_SET,
  LEDGER_MIGRATION_SET,
  GATEWAY_MIGRATION_SET,
  REFUND_MIGRATION_SET,
  SETTLEMENT_MIGRATION_SET,
];
