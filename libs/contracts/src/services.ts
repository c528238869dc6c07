/**
 * Clearline's services, and who they are on the broker. Each service connects to
 * RabbitMQ as its own user, `clearline-<service>`, and every message it publishes carries
 * that name in the AMQP `user_id` property, which RabbitMQ checks against the connection's
 * user: a task's sender cannot be forged. A task that moves money accepts only the
 * senders its contract names (`@Task(name, { senders })`).
 */
export const SERVICES = ['gateway', 'ledger', 'refund', 'settlement'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** What a service's broker user name starts with; the rest is the service's name. */
export const SERVICE_USER_PREFIX = 'clearline-';

/** The broker user a service connects as. */
export function serviceUser(service: ServiceName): string {
  return `${SERVICE_USER_PREFIX}${service}`;
}

/** The service a broker user is, or null for any other user (an operator, guest, a stranger). */
export function serviceOfUser(user: string | null | undefined): ServiceName | null {
  if (typeof user !== 'string' || !user.startsWith(SERVICE_USER_PREFIX)) return null;
  const name = user.slice(SERVICE_USER_PREFIX.length);
  return (SERVICES as readonly string[]).includes(name) ? (name as ServiceName) : null;
}

export function isServiceName(name: string): name is ServiceName {
  return (SERVICES as readonly string[]).includes(name);
}

/**
 * The PostgreSQL role a service works as: it may touch its own tables (and read what its
 * contract reads of others'), never DDL; migrations run as the database owner and grant.
 */
export function serviceDatabaseRole(service: ServiceName): string {
  return `clearline_${service}`;
}
