/**
 * `npm run database:roles`: lets each service's PostgreSQL role (`clearline_<service>`,
 * made and granted by the migrations) log in, with the password in
 * `DATABASE_PASSWORD_<SERVICE>` or `CLEARLINE_SERVICE_DB_PASSWORD` for all of them. The
 * operator's step after `migration:run`, as `broker:setup` is for the broker (Docker
 * Compose's one-shot runs both; infra/local/up.sh makes the roles itself for npm start).
 * Connection: DATABASE_URL, a role that may alter roles (the database's owner/superuser).
 */
import { Client } from 'pg';
import { SERVICES, serviceDatabaseRole, type ServiceName } from '@clearline/contracts';

function passwordOf(service: ServiceName): string {
  const password =
    process.env[`DATABASE_PASSWORD_${service.toUpperCase()}`] ??
    process.env['CLEARLINE_SERVICE_DB_PASSWORD'];
  if (!password) {
    throw new Error(
      `DATABASE_PASSWORD_${service.toUpperCase()} (or CLEARLINE_SERVICE_DB_PASSWORD) is not set`,
    );
  }
  return password;
}

export async function enableServiceRoles(): Promise<void> {
  const url = process.env['DATABASE_URL'];
  if (!url) throw new Error('DATABASE_URL is not set');
  const client = new Client({ connectionString: url, statement_timeout: 10_000 });
  await client.connect();
  try {
    for (const service of SERVICES) {
      const role = serviceDatabaseRole(service);
      const literal = await client.query<{ q: string }>('SELECT quote_literal($1) AS q', [
        passwordOf(service),
      ]);
      await client.query(`ALTER ROLE ${role} LOGIN PASSWORD ${literal.rows[0]?.q ?? "''"}`);
    }
  } finally {
    await client.end();
  }
  console.log(`database roles ${SERVICES.map(serviceDatabaseRole).join(', ')}: may log in`);
}

if (require.main === module) {
  enableServiceRoles().catch((error: unknown) => {
    console.error(
      `database roles failed: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  });
}
