import { preparedStatement } from '@clearline/persistence';
import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { IssuedApiKey } from '../auth/api-key';
import { newId } from '@clearline/contracts';
import type { ApiKey } from './merchant.model';
import { toApiKey, type ApiKeyRow } from './merchant.rows';

/** All SQL for API keys. Only digests are stored; a key is found by its digest. */
@Injectable()
export class ApiKeysRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * The active key with this digest (revoked keys are never found). Read `FOR SHARE`: a
   * key a roll is revoking is answered when the roll commits or rolls back, never as it
   * was before (ApiKeyCache relies on it to cache no revoked key).
   */
  async findActive(keyHash: string): Promise<Pick<ApiKeyRow, 'id' | 'merchant_id'> | undefined> {
    const rows = await this.dataSource.query<Pick<ApiKeyRow, 'id' | 'merchant_id'>[]>(
      preparedStatement(`SELECT id, merchant_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL
          FOR SHARE`),
      [keyHash],
    );
    return rows[0];
  }

  async insert(manager: EntityManager, merchantId: string, key: IssuedApiKey): Promise<ApiKey> {
    const rows = await manager.query<ApiKeyRow[]>(
      preparedStatement(`INSERT INTO api_keys (id, merchant_id, key_hash, prefix) VALUES ($1, $2, $3, $4)
       RETURNING id, merchant_id, prefix, created_at, revoked_at`),
      [newId('key'), merchantId, key.hash, key.prefix],
    );
    const [row] = rows;
    if (!row) throw new Error('INSERT … RETURNING gave no row');
    return toApiKey(row);
  }

  /** Revokes every active key of the merchant; returns their ids. */
  async revokeAll(manager: EntityManager, merchantId: string): Promise<string[]> {
    const [rows] = await manager.query<[{ id: string }[], number]>(
      preparedStatement(`UPDATE api_keys SET revoked_at = now()
        WHERE merchant_id = $1 AND revoked_at IS NULL RETURNING id`),
      [merchantId],
    );
    return rows.map((row) => row.id);
  }
}
