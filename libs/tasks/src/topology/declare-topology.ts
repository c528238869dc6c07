import type { Channel } from 'amqplib';
import type { Topology } from './topology';

/** Declares every exchange, queue and binding; safe to repeat (declarations are idempotent). */
export async function declareTopology(channel: Channel, topology: Topology): Promise<void> {
  await Promise.all(
    topology.exchanges.map((e) =>
      channel.assertExchange(e.name, e.type, {
        durable: e.durable,
        autoDelete: e.autoDelete,
        internal: e.internal,
        arguments: e.arguments,
      }),
    ),
  );
  await Promise.all(
    topology.queues.map((q) =>
      channel.assertQueue(q.name, {
        durable: q.durable,
        autoDelete: q.autoDelete,
        arguments: q.arguments,
      }),
    ),
  );
  await Promise.all(
    topology.bindings.map((b) =>
      b.destinationType === 'queue'
        ? channel.bindQueue(b.destination, b.source, b.routingKey)
        : channel.bindExchange(b.destination, b.source, b.routingKey),
    ),
  );
}
