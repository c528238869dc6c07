import { connect, type Channel, type ChannelModel } from 'amqplib';
import type { IsolatedInfrastructure } from './isolated-infrastructure';

/** What a test asks the broker about a queue, exactly and at once (not the management API's
 * sampled statistics). */
export interface BrokerProbe {
  /** Messages ready for delivery (not counting those delivered and not yet acknowledged). */
  ready(queue: string): Promise<number>;
  /** Consumers attached to the queue. */
  consumers(queue: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * A connection of the test's own to its vhost. A consumer that leaves gives back its
 * unacknowledged messages in the same step in which the queue forgets it, so
 * "consumers is 0, then ready is N" tells for certain what was left unacknowledged,
 * without sleeping and hoping the broker has caught up.
 */
export async function brokerProbe(infra: IsolatedInfrastructure): Promise<BrokerProbe> {
  const connection: ChannelModel = await connect(infra.amqpUrl);
  const channel: Channel = await connection.createChannel();
  return {
    ready: async (queue) => (await channel.checkQueue(queue)).messageCount,
    consumers: async (queue) => (await channel.checkQueue(queue)).consumerCount,
    close: () => connection.close(),
  };
}
