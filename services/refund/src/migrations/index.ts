import type { MigrationSet } from '@clearline/persistence';
import { CreateRefundJobs1764400000000 } from './1764400000000-CreateRefundJobs';
import { GrantRefundJobs1796300430000 } from './1796300430000-GrantRefundJobs';

/** The refund service's migrations, in order. Landed migrations are never edited: append. */
export const REFUND_MIGRATIONS = [CreateRefundJobs1764400000000, GrantRefundJobs1796300430000];

/** The refund service's migrations with their owner, for the checksum checks. */
export const REFUND_MIGRATION_SET: MigrationSet = {
  owner: 'refund',
  migrations: REFUND_MIGRATIONS,
};
