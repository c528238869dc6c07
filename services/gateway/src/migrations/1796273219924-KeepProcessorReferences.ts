import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The processor's reference of each payment (its authorization id) and refund (its refund
 * id), as the processor gave it: what a processor's settlement file names, so that
 * reconciliation can match its lines to ours. Nullable: a payment the processor declined,
 * a refund that failed, and everything before an answer have none. No index yet: the
 * payment's hot statements write the column, and the reconciliation decides how it reads.
 */
export class KeepProcessorReferences1796273219924 implements MigrationInterface {
  name = 'KeepProcessorReferences1796273219924';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE payments ADD COLUMN processor_reference text`);
    await runner.query(`ALTER TABLE refunds ADD COLUMN processor_reference text`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE refunds DROP COLUMN processor_reference`);
    await runner.query(`ALTER TABLE payments DROP COLUMN processor_reference`);
  }
}
