import { TASK_MIGRATIONS } from '@clearline/tasks';
import { LEDGER_MIGRATIONS } from '../services/ledger/src/migrations';

/**
 * Every migration of the one Clearline database, in order. Libraries and services
 * export their own; this list is where they meet.
 */
export const ALL_MIGRATIONS = [...TASK_MIGRATIONS, ...LEDGER_MIGRATIONS];
