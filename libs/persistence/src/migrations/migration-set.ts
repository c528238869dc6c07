import type { MigrationInterface } from 'typeorm';

/** A migration class as TypeORM takes it: constructed without arguments. */
export type MigrationClass = new () => MigrationInterface;

/**
 * The migrations one owner (a library such as `tasks`, or a service such as `ledger`)
 * brings to the shared database, in order. The owner is recorded with each applied
 * migration, so a process that checks only some owners can still tell that one of
 * them lost a migration it had applied.
 */
export interface MigrationSet {
  owner: string;
  migrations: readonly MigrationClass[];
}

/** What TypeORM calls the migration (its `name`, else the class name). */
export function migrationName(migration: MigrationClass): string {
  return new migration().name ?? migration.name;
}

/** The epoch-ms suffix TypeORM reads from every migration name. */
export function migrationTimestamp(name: string): number {
  const timestamp = Number(name.slice(-13));
  if (!Number.isSafeInteger(timestamp) || timestamp <= 0) {
    throw new Error(`migration ${name}: the name must end with its 13-digit epoch-ms timestamp`);
  }
  return timestamp;
}
