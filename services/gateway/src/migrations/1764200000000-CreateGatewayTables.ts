import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Merchants and their API keys, idempotency keys, events and webhook delivery attempts. */
export class CreateGatewayTables1764200000000 implements MigrationInterface {
  name = 'CreateGatewayTables1764200000000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE merchants (
        id                  text PRIMARY KEY,
        name                text NOT NULL,
        webhook_url         text,
        webhook_secret      text NOT NULL,
        pricing_percent_bps integer NOT NULL CHECK (pricing_percent_bps BETWEEN 0 AND 10000),
        pricing_fixed       bigint NOT NULL CHECK (pricing_fixed >= 0),
        created_at          timestamptz NOT NULL DEFAULT now()
      )`);
    // Keys are stored as SHA-256 digests only; the prefix is what an operator may see.
    await runner.query(`
      CREATE TABLE api_keys (
        id          text PRIMARY KEY,
        merchant_id text NOT NULL REFERENCES merchants (id),
        key_hash    text NOT NULL UNIQUE,
        prefix      text NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        revoked_at  timestamptz
      )`);
    await runner.query(
      `CREATE INDEX api_keys_active_idx ON api_keys (merchant_id) WHERE revoked_at IS NULL`,
    );
    await runner.query(`
      CREATE TABLE idempotency_keys (
        scope         text NOT NULL,
        key           text NOT NULL,
        request_hash  text NOT NULL,
        method        text NOT NULL,
        path          text NOT NULL,
        state         text NOT NULL CHECK (state IN ('in_progress', 'done')),
        status_code   integer,
        response_body text,
        reference     text,
        locked_at     timestamptz,
        created_at    timestamptz NOT NULL DEFAULT now(),
        expires_at    timestamptz NOT NULL,
        completed_at  timestamptz,
        PRIMARY KEY (scope, key),
        CHECK (state = 'in_progress' OR status_code IS NOT NULL)
      )`);
    await runner.query(
      `CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at)`,
    );
    await runner.query(`
      CREATE TABLE events (
        id          text PRIMARY KEY,
        merchant_id text NOT NULL REFERENCES merchants (id),
        type        text NOT NULL,
        data        jsonb NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(
      `CREATE INDEX events_merchant_page_idx ON events (merchant_id, created_at DESC, id DESC)`,
    );
    await runner.query(
      `CREATE INDEX events_merchant_type_page_idx
         ON events (merchant_id, type, created_at DESC, id DESC)`,
    );
    await runner.query(`
      CREATE TABLE webhook_attempts (
        event_id     text NOT NULL REFERENCES events (id),
        attempt      integer NOT NULL CHECK (attempt >= 1),
        url          text NOT NULL,
        status_code  integer,
        error        text,
        succeeded    boolean NOT NULL,
        duration_ms  integer NOT NULL CHECK (duration_ms >= 0),
        attempted_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (event_id, attempt)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE webhook_attempts`);
    await runner.query(`DROP TABLE events`);
    await runner.query(`DROP TABLE idempotency_keys`);
    await runner.query(`DROP TABLE api_keys`);
    await runner.query(`DROP TABLE merchants`);
  }
}
