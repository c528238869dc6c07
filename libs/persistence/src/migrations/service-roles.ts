import { SERVICES, serviceDatabaseRole, type ServiceName } from '@clearline/contracts';

/**
 * SQL for the migrations that give each service's PostgreSQL role what it may do. A role
 * that does not exist yet is made here (without login: the operator gives each a login and
 * password), which needs CREATEROLE; where the migrating user has none, the operator makes
 * the roles first (infra/local/up.sh does) and the migration only grants. Two migrations
 * making them at once both succeed.
 */
export function ensureServiceRolesSql(): string {
  const creates = SERVICES.map(
    (service) => `
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${serviceDatabaseRole(service)}') THEN
      BEGIN
        CREATE ROLE ${serviceDatabaseRole(service)} NOLOGIN;
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
      END;
    END IF;`,
  ).join('');
  return `DO $$ BEGIN ${creates}\nEND $$`;
}

/** `GRANT <privileges> ON <tables> TO <the services' roles>`. */
export function grantSql(
  privileges: readonly ('SELECT' | 'INSERT' | 'UPDATE' | 'DELETE')[],
  tables: readonly string[],
  services: readonly ServiceName[],
): string {
  return `GRANT ${privileges.join(', ')} ON ${tables.join(', ')} TO ${services
    .map(serviceDatabaseRole)
    .join(', ')}`;
}

/** Every privilege a service has on its own tables (never DDL, never TRUNCATE). */
export const OWN_TABLE_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;
