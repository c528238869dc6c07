import type { MigrationSet } from '@clearline/persistence';
import { CreateGatewayTables1764200000000 } from './1764200000000-CreateGatewayTables';
import { CreatePayments1764300000000 } from './1764300000000-CreatePayments';
import { CreateRefunds1764500000000 } from './1764500000000-CreateRefunds';
import { StoreIdempotentResponseHeaders1796232764701 } from './1796232764701-StoreIdempotentResponseHeaders';
import { TrackOperationResumes1796269766139 } from './1796269766139-TrackOperationResumes';
import { KeepProcessorReferences1796273219924 } from './1796273219924-KeepProcessorReferences';
import { CreateReconciliations1796280904875 } from './1796280904875-CreateReconciliations';
import { HardenWebhooks1796291655028 } from './1796291655028-HardenWebhooks';
import { GrantGatewayTables1796300420000 } from './1796300420000-GrantGatewayTables';

/** The gateway's migrations, in order. Landed migrations are never edited: append. */
export const GATEWAY_MIGRATIONS = [
  CreateGatewayTables1764200000000,
  CreatePayments1764300000000,
  CreateRefunds1764500000000,
  StoreIdempotentResponseHeaders1796232764701,
  TrackOperationResumes1796269766139,
  KeepProcessorReferences1796273219924,
  CreateReconciliations1796280904875,
  HardenWebhooks1796291655028,
  GrantGatewayTables1796300420000,
];

/** The gateway's migrations with their owner, for the checksum checks. */
export const GATEWAY_MIGRATION_SET: MigrationSet = {
  owner: 'gateway',
  migrations: GATEWAY_MIGRATIONS,
};
