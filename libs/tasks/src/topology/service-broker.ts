import { connect } from 'amqplib';
import { SERVICES, serviceUser, WORK_QUEUES, type ServiceName } from '@clearline/contracts';
import { servicePermissions } from './broker-permissions';
import { declareTopology } from './declare-topology';
import { buildTopology } from './topology';

/** A PUT on RabbitMQ's management HTTP API, as the operator. */
export type ManagementPut = (path: string, body: unknown) => Promise<unknown>;

/**
 * The operator's part of a vhost for Clearline's services: each service user's
 * permissions on it (and, with `passwordOf`, the users themselves), then the whole task
 * topology, which the services — limited to their own queues — do not declare.
 * `npm run broker:setup` and the test harness both run it.
 */
export async function prepareServiceBroker(options: {
  amqpUrl: string;
  put: ManagementPut;
  passwordOf?: (service: ServiceName) => string;
}): Promise<void> {
  const { amqpUrl, put, passwordOf } = options;
  const vhost = decodeURIComponent(new URL(amqpUrl).pathname.slice(1)) || '/';
  await Promise.all(
    SERVICES.map(async (service) => {
      const user = encodeURIComponent(serviceUser(service));
      if (passwordOf) await put(`/users/${user}`, { password: passwordOf(service), tags: '' });
      await put(`/permissions/${encodeURIComponent(vhost)}/${user}`, servicePermissions(service));
    }),
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
