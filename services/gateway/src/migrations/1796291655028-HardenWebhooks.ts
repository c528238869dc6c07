import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Webhook attempts keep a generic reason, never the network error's text (which may name
 * internal hosts and addresses): earlier rows are rewritten to the reasons, and a CHECK
 * holds the column to them (WEBHOOK_ATTEMPT_ERRORS). Merchants can roll their webhook
 * secret with a grace period: the previous secret still signs deliveries until it expires.
 */
export class HardenWebhooks1796291655028 implements MigrationInterface {
  name = 'HardenWebhooks1796291655028';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      UPDATE webhook_attempts
         SET error = CASE
           WHEN succeeded THEN NULL
           WHEN status_code BETWEEN 300 AND 399 THEN 'redirect_refused'
           WHEN status_code IS NOT NULL THEN 'http_status'
           WHEN error LIKE 'WebhookTimeoutError%' OR error ILIKE '%timeout%' THEN 'timeout'
           WHEN error ~ '(ENOTFOUND|EAI_AGAIN)' THEN 'dns_failed'
           ELSE 'connection_failed'
         END`);
    await runner.query(`
      ALTER TABLE webhook_attempts ADD CONSTRAINT webhook_attempts_error_is_a_reason
        CHECK (error IN ('timeout', 'dns_failed', 'connection_failed', 'tls_error',
                         'http_status', 'redirect_refused', 'address_refused', 'url_refused'))`);
    await runner.query(`
      ALTER TABLE merchants
        ADD COLUMN previous_webhook_secret text,
        ADD COLUMN previous_webhook_secret_expires_at timestamptz,
        ADD CONSTRAINT merchants_previous_webhook_secret_expires
          CHECK ((previous_webhook_secret IS NULL) = (previous_webhook_secret_expires_at IS NULL))`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE merchants
        DROP CONSTRAINT merchants_previous_webhook_secret_expires,
        DROP COLUMN previous_webhook_secret_expires_at,
        DROP COLUMN previous_webhook_secret`);
    await runner.query(
      `ALTER TABLE webhook_attempts DROP CONSTRAINT webhook_attempts_error_is_a_reason`,
    );
  }
}
