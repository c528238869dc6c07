import { TASK_MIGRATIONS } from '@clearline/tasks';
import { GATEWAY_MIGRATIONS } from '../services/gateway/src/migrations';
import { LEDGER_MIGRATIONS } from '../services/ledger/src/migrations';
import { REFUND_MIGRATIONS } from '../services/refund/src/migrations';

/**
 * Every migration of the one Clearline database, in order. Libraries and services
 * export their own; this list is where they meet.
 */
export const ALL_MIGRATIONS = [
  ...TASK_MIGRATIONS,
  ...LEDGER_MIGRATIONS,
  ...GATEWAY_MIGRATIONS,
  ...REFUND_MIGRATIONS,
];
