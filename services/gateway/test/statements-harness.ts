import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { isolatedInfrastructure, type IsolatedInfrastructure } from '@clearline/testing';

/**
 * For tests of the gateway's shared hot-path statements (repositories on their own):
 * this file's own database with every migration applied, and the merchants named.
 */
export interface StatementsDatabase {
  dataSource: DataSource;
  /** `count` idempotency keys of `scope`, claimed (in progress) by a request hashed `hash`. */
  heldKeys(scope: string, count: number): Promise<string[]>;
  /** The reference each key names (null: none), by key. */
  references(keys: readonly string[]): Promise<Map<string, string | null>>;
  close(): Promise<void>;
}

export async function statementsDatabase(
  merchants: readonly string[],
): Promise<StatementsDatabase> {
  const infra: IsolatedInfrastructure = await isolatedInfrastructure();
  const dataSource = new DataSource({ type: 'postgres', url: infra.databaseUrl });
  await dataSource.initialize();
  await dataSource.query(
    `INSERT INTO merchants (id, name, webhook_secret, pricing_percent_bps, pricing_fixed)
     SELECT id, id, 'whsec_test', 0, 0 FROM unnest($1::text[]) AS id`,
    [merchants],
  );
  return {
    dataSource,
    heldKeys: async (scope, count) => {
      const keys = Array.from({ length: count }, () => randomUUID());
      await dataSource.query(
        `INSERT INTO idempotency_keys (scope, key, request_hash, method, path, state, expires_at)
         SELECT $1, k, 'hash', 'POST', '/v1/test', 'in_progress', now() + interval '1 day'
           FROM unnest($2::text[]) AS k`,
        [scope, keys],
      );
      return keys;
    },
    references: async (keys) => {
      const rows = await dataSource.query<{ key: string; reference: string | null }[]>(
        `SELECT key, reference FROM idempotency_keys WHERE key = ANY($1::text[])`,
        [keys],
      );
      return new Map(rows.map((row) => [row.key, row.reference]));
    },
    close: async () => {
      await dataSource.destroy();
      await infra.destroy();
    },
  };
}
