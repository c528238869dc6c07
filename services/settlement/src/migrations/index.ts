import type { MigrationSet } from '@clearline/persistence';
import { CreateSettlementTables1796280825482 } from './1796280825482-CreateSettlementTables';
import { GrantSettlementTables1796300440000 } from './1796300440000-GrantSettlementTables';
import { ClaimItemsBeforeTheirSettlement1796313220607 } from './1796313220607-ClaimItemsBeforeTheirSettlement';
import { MarkMerchantsLatestSettledPosting1796314522745 } from './1796314522745-MarkMerchantsLatestSettledPosting';

/** The settlement service's migrations, in order. Landed migrations are never edited: append. */
export const SETTLEMENT_MIGRATIONS = [
  CreateSettlementTables1796280825482,
  GrantSettlementTables1796300440000,
  ClaimItemsBeforeTheirSettlement1796313220607,
  MarkMerchantsLatestSettledPosting1796314522745,
];

/** The settlement service's migrations with their owner, for the checksum checks. */
export const SETTLEMENT_MIGRATION_SET: MigrationSet = {
  owner: 'settlement',
  migrations: SETTLEMENT_MIGRATIONS,
};
