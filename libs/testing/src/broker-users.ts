import { isServiceName, serviceDatabaseRole, serviceUser } from '@clearline/contracts';
import { TEST_SERVICE_DB_PASSWORD, TEST_SERVICE_USER_PASSWORD } from './service-users';
import { prepareServiceBroker } from '@clearline/tasks';
import { management, TEST_INFRA } from './infrastructure';

export { TEST_SERVICE_USER_PASSWORD };

/**
 * The services' own broker users in tests, as in production (service-users.ts): gives
 * each its permissions on a test file's vhost, and declares the whole topology there as
 * the operator.
 */
export async function prepareVhostForServices(_vhost: string, amqpUrl: string): Promise<void> {
  await prepareServiceBroker({ amqpUrl, put: (path, body) => management('PUT', path, body) });
}

/** `amqpUrl` logged in as the service's own user, when it names the operator user. */
export function amqpUrlAs(amqpUrl: string, service: string): string {
  if (!isServiceName(service)) return amqpUrl;
  const url = new URL(amqpUrl);
  const operator = decodeURIComponent(new URL(TEST_INFRA.amqpBaseUrl).username);
  if (decodeURIComponent(url.username) !== operator) return amqpUrl;
  url.username = encodeURIComponent(serviceUser(service));
  url.password = encodeURIComponent(TEST_SERVICE_USER_PASSWORD);
  return url.toString();
}

/** `databaseUrl` logged in as the service's own role, when it names the operator user. */
export function databaseUrlAs(databaseUrl: string, service: string): string {
  if (!isServiceName(service)) return databaseUrl;
  const url = new URL(databaseUrl);
  const operator = decodeURIComponent(new URL(TEST_INFRA.databaseAdminUrl).username);
  if (decodeURIComponent(url.username) !== operator) return databaseUrl;
  url.username = serviceDatabaseRole(service);
  url.password = encodeURIComponent(TEST_SERVICE_DB_PASSWORD);
  return url.toString();
}

/**
 * A service's environment with its own broker user and database role (unless the test
 * chose others), as in production.
 */
export function envAs(env: Record<string, string>, service: string): Record<string, string> {
  const amqp = env['AMQP_URL'];
  const database = env['DATABASE_URL'];
  return {
    ...env,
    ...(amqp === undefined ? {} : { AMQP_URL: amqpUrlAs(amqp, service) }),
    ...(database === undefined ? {} : { DATABASE_URL: databaseUrlAs(database, service) }),
  };
}
