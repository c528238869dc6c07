import { connect } from 'amqplib';
import { isServiceName, SERVICES, serviceUser, WORK_QUEUES } from '@clearline/contracts';
import { TEST_SERVICE_USER_PASSWORD } from './service-users';
import { buildTopology, declareTopology, servicePermissions } from '@clearline/tasks';
import { management, TEST_INFRA } from './infrastructure';

export { TEST_SERVICE_USER_PASSWORD };

/**
 * The services' own broker users in tests, as in production (service-users.ts): each
 * test file's vhost gets their permissions and the whole topology, declared by the
 * operator user.
 */

/** Gives each service user its permissions on `vhost` and declares the topology there. */
export async function prepareVhostForServices(vhost: string, amqpUrl: string): Promise<void> {
  await Promise.all(
    SERVICES.map((service) =>
      management(
        'PUT',
        `/permissions/${encodeURIComponent(vhost)}/${encodeURIComponent(serviceUser(service))}`,
        servicePermissions(service),
      ),
    ),
  );
  const connection = await connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    await declareTopology(channel, buildTopology(WORK_QUEUES));
    await channel.close();
  } finally {
    await connection.close();
  }
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

/** A service's environment with its own broker user (unless the test chose another). */
export function envAs(env: Record<string, string>, service: string): Record<string, string> {
  const amqp = env['AMQP_URL'];
  return amqp === undefined ? env : { ...env, AMQP_URL: amqpUrlAs(amqp, service) };
}
