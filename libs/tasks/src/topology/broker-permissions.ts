import type { ServiceName } from '@clearline/contracts';
import {
  CONTROL_EXCHANGE,
  DEAD_LETTER_EXCHANGE,
  DELAY_DELIVER_EXCHANGE,
  TASK_EXCHANGE,
  type Topology,
} from './topology';

/**
 * What each service's broker user may do on the vhost (RabbitMQ's configure, write and
 * read permissions, each a regular expression over resource names), and the part of the
 * topology it declares itself.
 *
 * - configure (declare, delete): its own queues only — its work queues and their dead
 *   letters (`gateway`, `gateway.batch`, `gateway.batch.dead`, …), its server-named and
 *   reply queues, its Celery pidbox queue — and Celery's monitoring exchanges. The shared
 *   exchanges and the delay levels are declared once, by an operator, before the services
 *   start (`npm run topology:declare`, the management import of definitions.json, or the
 *   Messaging Topology Operator): a service can delete nothing another one uses.
 * - write (publish, bind a queue): the task, delay, dead-letter and control exchanges, the
 *   default exchange (replies), Celery's monitoring exchanges, and its own queues.
 * - read (consume, bind from an exchange): its own queues and the exchanges it binds them
 *   to. The gateway, whose operators' API lists and replays dead letters, also reads
 *   every dead-letter queue.
 *
 * Publishing to an exchange cannot be limited by routing key on a direct exchange, so who
 * may send which task is decided by the consumer, from the `user_id` RabbitMQ checked
 * (`@Task(name, { senders })`).
 */
export interface BrokerPermissions {
  configure: string;
  write: string;
  read: string;
}

const escape = (name: string): string => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Celery's monitoring and remote-control exchanges (events, pidbox and its replies). */
const CELERY_EXCHANGES = ['celeryev', 'celery.pidbox', 'reply.celery.pidbox'];

/**
 * Names a service owns: its queues (`gateway`, `gateway.…`), its Celery pidbox queues
 * (`gateway@host:pid.celery.pidbox`), its reply queues and server-named queues.
 */
function ownNames(service: ServiceName): string[] {
  const name = escape(service);
  return [
    name,
    `${name}\\..*`,
    `${name}@.*\\.celery\\.pidbox`,
    `clearline\\.reply\\.${name}\\..*`,
    'amq\\.gen-.*',
  ];
}

function anyOf(patterns: readonly string[]): string {
  return `^(${patterns.join('|')})$`;
}

export function servicePermissions(service: ServiceName): BrokerPermissions {
  const own = ownNames(service);
  const celery = CELERY_EXCHANGES.map(escape);
  const exchanges = [
    escape(TASK_EXCHANGE),
    escape(DEAD_LETTER_EXCHANGE),
    escape(CONTROL_EXCHANGE),
    escape(DELAY_DELIVER_EXCHANGE),
    'clearline\\.delay\\.\\d+',
    'clearline\\.ordered\\..*',
    ...celery,
  ];
  const deadLetters = service === 'gateway' ? ['.*\\.dead'] : [];
  return {
    configure: anyOf([...own, ...celery]),
    write: anyOf([...own, ...exchanges, 'amq\\.default']),
    read: anyOf([...own, ...exchanges, ...deadLetters]),
  };
}

/** Whether a queue is one of `service`'s own (its permissions let it declare it). */
export function ownsQueue(service: ServiceName, queue: string): boolean {
  return queue === service || queue.startsWith(`${service}.`);
}

/**
 * The part of `topology` a service declares itself: its own queues and their bindings.
 * Everything else (exchanges, the delay levels, other services' queues) is declared by
 * an operator beforehand, with the whole topology.
 */
export function ownTopology(topology: Topology, service: ServiceName): Topology {
  return {
    exchanges: [],
    queues: topology.queues.filter((queue) => ownsQueue(service, queue.name)),
    bindings: topology.bindings.filter(
      (binding) => binding.destinationType === 'queue' && ownsQueue(service, binding.destination),
    ),
  };
}
