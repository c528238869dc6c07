import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The headers a stored idempotent response was sent with (a 202's `Location`), so that
 * a replay carries them as the first answer did. Null for a response without any.
 */
export class StoreIdempotentResponseHeaders1796232764701 implements MigrationInterface {
  name = 'StoreIdempotentResponseHeaders1796232764701';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE idempotency_keys ADD COLUMN response_headers jsonb`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE idempotency_keys DROP COLUMN response_headers`);
  }
}
