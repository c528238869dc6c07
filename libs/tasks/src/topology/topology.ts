/**
 * The broker topology of the task layer, computed from one list of work queues.
 *
 * - `clearline.tasks` (direct): a task is published with the routing key of its queue,
 *   as Celery does.
 * - Work queues are quorum queues. A message redelivered more than `deliveryLimit`
 *   times (a poison message that crashes its consumer) is dead-lettered by the broker,
 *   at-least-once, to `clearline.dead`, which routes it to `<queue>.dead`.
 * - Delays (retry backoff, countdown, eta) use binary delay levels: level L is a
 *   queue whose messages expire after 2^L ms into the exchange of level L-1. A
 *   delayed message's routing key spells the delay in bits, highest level first,
 *   then the destination queue; each level's exchange sends it through that level's
 *   queue when its bit is 1 and straight on when it is 0. Any delay up to
 *   2^DELAY_LEVELS - 1 ms therefore costs at most DELAY_LEVELS fixed queues and no
 *   timers in memory.
 */
export const TASK_EXCHANGE = 'clearline.tasks';
export const DEAD_LETTER_EXCHANGE = 'clearline.dead';
export const DELAY_DELIVER_EXCHANGE = 'clearline.delay.deliver';
/** 2^28 - 1 ms is about 74.5 hours; longer delays are re-delayed when they arrive. */
export const DELAY_LEVELS = 28;
export const DELAY_MAX_MS = 2 ** DELAY_LEVELS - 1;

export interface WorkQueueSpec {
  name: string;
  /** Deliveries before the broker dead-letters a message that keeps coming back. */
  deliveryLimit?: number;
  /** One consumer at a time receives this queue's messages (ordered shards). */
  singleActiveConsumer?: boolean;
}

export type ExchangeType = 'direct' | 'topic' | 'fanout' | 'x-consistent-hash';

export interface ExchangeDef {
  name: string;
  type: ExchangeType;
  durable: true;
  autoDelete: false;
  internal: boolean;
  arguments: Record<string, unknown>;
}

export interface QueueDef {
  name: string;
  durable: true;
  autoDelete: false;
  arguments: Record<string, unknown>;
}

export interface BindingDef {
  source: string;
  destination: string;
  destinationType: 'queue' | 'exchange';
  routingKey: string;
}

export interface Topology {
  exchanges: ExchangeDef[];
  queues: QueueDef[];
  bindings: BindingDef[];
}

export const DELIVERY_LIMIT_DEFAULT = 5;

export function delayExchange(level: number): string {
  return `clearline.delay.${level}`;
}

export function deadLetterQueue(queue: string): string {
  return `${queue}.dead`;
}

function exchange(name: string, type: ExchangeType): ExchangeDef {
  return { name, type, durable: true, autoDelete: false, internal: false, arguments: {} };
}

function quorumQueue(name: string, args: Record<string, unknown> = {}): QueueDef {
  return {
    name,
    durable: true,
    autoDelete: false,
    arguments: { 'x-queue-type': 'quorum', ...args },
  };
}

/** `*.` repeated for the bits above `level`, so a pattern tests exactly one bit. */
function bitPrefix(level: number): string {
  return '*.'.repeat(DELAY_LEVELS - 1 - level);
}

function delayTopology(): Topology {
  const exchanges: ExchangeDef[] = [exchange(DELAY_DELIVER_EXCHANGE, 'topic')];
  const queues: QueueDef[] = [];
  const bindings: BindingDef[] = [];
  for (let level = DELAY_LEVELS - 1; level >= 0; level -= 1) {
    const next = level === 0 ? DELAY_DELIVER_EXCHANGE : delayExchange(level - 1);
    exchanges.push(exchange(delayExchange(level), 'topic'));
    queues.push(
      quorumQueue(delayExchange(level), {
        'x-message-ttl': 2 ** level,
        'x-dead-letter-exchange': next,
        'x-dead-letter-strategy': 'at-least-once',
        'x-overflow': 'reject-publish',
      }),
    );
    const prefix = bitPrefix(level);
    bindings.push({
      source: delayExchange(level),
      destination: delayExchange(level),
      destinationType: 'queue',
      routingKey: `${prefix}1.#`,
    });
    bindings.push({
      source: delayExchange(level),
      destination: next,
      destinationType: 'exchange',
      routingKey: `${prefix}0.#`,
    });
  }
  return { exchanges, queues, bindings };
}

function workQueueTopology(spec: WorkQueueSpec): Topology {
  const args: Record<string, unknown> = {
    'x-delivery-limit': spec.deliveryLimit ?? DELIVERY_LIMIT_DEFAULT,
    'x-dead-letter-exchange': DEAD_LETTER_EXCHANGE,
    'x-dead-letter-routing-key': spec.name,
    'x-dead-letter-strategy': 'at-least-once',
    'x-overflow': 'reject-publish',
  };
  if (spec.singleActiveConsumer === true) args['x-single-active-consumer'] = true;
  return {
    exchanges: [],
    queues: [quorumQueue(spec.name, args), quorumQueue(deadLetterQueue(spec.name))],
    bindings: [
      {
        source: TASK_EXCHANGE,
        destination: spec.name,
        destinationType: 'queue',
        routingKey: spec.name,
      },
      {
        source: DEAD_LETTER_EXCHANGE,
        destination: deadLetterQueue(spec.name),
        destinationType: 'queue',
        routingKey: spec.name,
      },
      {
        source: DELAY_DELIVER_EXCHANGE,
        destination: spec.name,
        destinationType: 'queue',
        routingKey: `${'*.'.repeat(DELAY_LEVELS)}${spec.name}`,
      },
    ],
  };
}

/** The whole topology for these work queues: the single place it is defined. */
export function buildTopology(workQueues: readonly WorkQueueSpec[]): Topology {
  const parts = [
    {
      exchanges: [exchange(TASK_EXCHANGE, 'direct'), exchange(DEAD_LETTER_EXCHANGE, 'direct')],
      queues: [],
      bindings: [],
    },
    delayTopology(),
    ...workQueues.map(workQueueTopology),
  ];
  return {
    exchanges: parts.flatMap((part) => part.exchanges),
    queues: parts.flatMap((part) => part.queues),
    bindings: parts.flatMap((part) => part.bindings),
  };
}

/** Routing for a message that must reach `queue` after `delayMs` (clamped to the maximum). */
export function delayRoute(
  queue: string,
  delayMs: number,
): { exchange: string; routingKey: string } {
  const ms = Math.min(Math.max(0, Math.round(delayMs)), DELAY_MAX_MS);
  const bits = ms.toString(2).padStart(DELAY_LEVELS, '0').split('').join('.');
  return { exchange: delayExchange(DELAY_LEVELS - 1), routingKey: `${bits}.${queue}` };
}

/** The same topology as a RabbitMQ definitions file, for the management UI and Kubernetes. */
export function toDefinitions(topology: Topology, vhost: string): Record<string, unknown> {
  return {
    vhosts: [{ name: vhost }],
    exchanges: topology.exchanges.map((e) => ({
      name: e.name,
      vhost,
      type: e.type,
      durable: e.durable,
      auto_delete: e.autoDelete,
      internal: e.internal,
      arguments: e.arguments,
    })),
    queues: topology.queues.map((q) => ({
      name: q.name,
      vhost,
      durable: q.durable,
      auto_delete: q.autoDelete,
      arguments: q.arguments,
    })),
    bindings: topology.bindings.map((b) => ({
      source: b.source,
      vhost,
      destination: b.destination,
      destination_type: b.destinationType,
      routing_key: b.routingKey,
      arguments: {},
    })),
  };
}
