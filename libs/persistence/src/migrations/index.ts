/**
 * Migration glue: checksums of applied migrations, checked at every service start and
 * by `migration:run`, and the committed manifest of landed migrations. The rule that
 * makes it work: migrations issue SQL through `runner.query(...)` only.
 */
export type { MigrationClass, MigrationSet } from './migration-set';
export { migrationChecksum, MigrationRuleError } from './migration-checksum';
export { MigrationDriftError, type MigrationProblem } from './migration-drift';
export {
  MIGRATION_CHECKSUMS_TABLE,
  verifyMigrations,
  type MigrationCheck,
  type MigrationLog,
  type VerifyMigrationsOptions,
} from './migration-guard';
export { runMigrationsGuarded, type GuardedMigrationOptions } from './guarded-migrations';
export {
  appendToLock,
  compareWithLock,
  landedMigrationEdits,
  migrationLockEntries,
  type MigrationLockDiff,
  type MigrationLockEntry,
} from './migration-lock';
export * from './service-roles';
