import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A merchant's claim now writes its items first, in one statement that reads the
 * postings, prices them and sums them per settlement, then the settlements with those
 * sums: the items' foreign key to `settlements` would refuse that order, and checked row
 * by row it was ~40% of the cost of writing an item. Items are written only by the
 * settlement service, in the transaction that writes their settlement; undoing a claim
 * deletes both (no cascade any more).
 */
export class ClaimItemsBeforeTheirSettlement1796313220607 implements MigrationInterface {
  name = 'ClaimItemsBeforeTheirSettlement1796313220607';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(
      `ALTER TABLE settlement_items DROP CONSTRAINT settlement_items_settlement_id_fkey`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(
      `ALTER TABLE settlement_items ADD CONSTRAINT settlement_items_settlement_id_fkey
         FOREIGN KEY (settlement_id) REFERENCES settlements (id) ON DELETE CASCADE`,
    );
  }
}
