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
import { strict as assert } from 'node:assert';

export const TASK_EXCHANGE = 'clearline.tasks';
export const DEAD_LETTER_EXCHANGE = 'clearline.dead';
export const DELAY_DELIVER_EXCHANGE = 'clearline.delay.deliver';
/**
 * Remote control (revoke, inspect), fanout: each worker binds its own exclusive,
 * auto-delete queue, so a command reaches every worker running now.
 */
export const CONTROL_EXCHANGE = 'clearline.control';
/** 2^28 - 1 ms is about 74.5 hours; longer delays are re-delayed when they arrive. */
export const DELAY_LEVELS = 28;
export const DELAY_MAX_MS = 2 ** DELAY_LEVELS - 1;

export interface WorkQueueSpec {
  name: string;
  /**
   * The lane (kind of work) the queue is in: its consumers use the lane's prefetch and
   * handler pool. Unset: `realtime` (TASK_LANE_DEFAULT).
   */
  lane?: string;
  /** Tasks routed to this queue whatever their name's first segment says (Celery's `task_routes`). */
  tasks?: readonly string[];
  /** Deliveries before the broker dead-letters a message that keeps coming back. */
  deliveryLimit?: number;
  /** One consumer at a time receives this queue's messages (ordered shards). */
  singleActiveConsumer?: boolean;
  /**
   * An ordered lane instead of one queue: tasks of one key run one at a time, in the
   * order they reach the lane (see {@link OrderedLaneSpec}).
   */
  ordered?: OrderedLaneSpec;
}

/**
 * An ordered lane: a consistent-hash exchange spreads the lane's tasks over `shards`
 * quorum queues (`<lane>.shard.<i>`, single active consumer each) by the value of
 * each task's key, carried in the {@link ORDER_KEY_HEADER} header; a worker runs one
 * shard's deliveries strictly one at a time, so tasks of one key apply in order.
 */
export interface OrderedLaneSpec {
  /** Shard queues (1 to ORDERED_SHARDS_MAX): the lane's parallelism. */
  shards: number;
  /** The lane's tasks and the payload field each is ordered by: `{ 'ledger.post_fee': 'merchant_id' }`. */
  tasks: Readonly<Record<string, string>>;
}

/** The header whose value the consistent-hash exchange of an ordered lane hashes. */
export const ORDER_KEY_HEADER = 'x-clearline-order-key';
/** The most shard queues an ordered lane may have (each is a quorum queue of its own). */
export const ORDERED_SHARDS_MAX = 64;

/** The consistent-hash exchange of an ordered lane. */
export function orderedExchange(lane: string): string {
  return `clearline.ordered.${lane}`;
}

/** The shard queues of an ordered lane, in order. */
export function shardQueues(lane: string, shards: number): string[] {
  return Array.from({ length: shards }, (_, i) => `${lane}.shard.${i}`);
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

/**
 * An ordered lane: `clearline.tasks` (routing key = lane) and the delay levels feed the
 * lane's consistent-hash exchange, which hashes the order key header over the shard
 * queues (weight 1 each). A message without the header reaches no queue, so a producer
 * that does not know the task is ordered fails loudly (unroutable) instead of
 * delivering out of order. Every shard dead-letters into `<lane>.dead`; a shard is
 * also a delay destination of its own (a worker sends a too-early eta round again).
 */
function orderedLaneTopology(spec: WorkQueueSpec, ordered: OrderedLaneSpec): Topology {
  assert(Number.isInteger(ordered.shards), `ordered lane ${spec.name}: shards is an integer`);
  assert(ordered.shards >= 1, `ordered lane ${spec.name}: at least one shard`);
  assert(ordered.shards <= ORDERED_SHARDS_MAX, `ordered lane ${spec.name}: too many shards`);
  const hash = orderedExchange(spec.name);
  const shards = shardQueues(spec.name, ordered.shards);
  const anyDelay = '*.'.repeat(DELAY_LEVELS);
  const args: Record<string, unknown> = {
    'x-delivery-limit': spec.deliveryLimit ?? DELIVERY_LIMIT_DEFAULT,
    'x-dead-letter-exchange': DEAD_LETTER_EXCHANGE,
    'x-dead-letter-routing-key': spec.name,
    'x-dead-letter-strategy': 'at-least-once',
    'x-overflow': 'reject-publish',
    'x-single-active-consumer': true,
  };
  const toQueue = (source: string, destination: string, routingKey: string): BindingDef => ({
    source,
    destination,
    destinationType: 'queue',
    routingKey,
  });
  return {
    exchanges: [
      { ...exchange(hash, 'x-consistent-hash'), arguments: { 'hash-header': ORDER_KEY_HEADER } },
    ],
    queues: [
      ...shards.map((shard) => quorumQueue(shard, args)),
      quorumQueue(deadLetterQueue(spec.name)),
    ],
    bindings: [
      {
        source: TASK_EXCHANGE,
        destination: hash,
        destinationType: 'exchange',
        routingKey: spec.name,
      },
      {
        source: DELAY_DELIVER_EXCHANGE,
        destination: hash,
        destinationType: 'exchange',
        routingKey: `${anyDelay}${spec.name}`,
      },
      toQueue(DEAD_LETTER_EXCHANGE, deadLetterQueue(spec.name), spec.name),
      ...shards.flatMap((shard) => [
        toQueue(hash, shard, '1'),
        toQueue(DEAD_LETTER_EXCHANGE, deadLetterQueue(spec.name), shard),
        toQueue(DELAY_DELIVER_EXCHANGE, shard, `${anyDelay}${shard}`),
      ]),
    ],
  };
}

/** The whole topology for these work queues: the single place it is defined. */
export function buildTopology(workQueues: readonly WorkQueueSpec[]): Topology {
  const parts = [
    {
      exchanges: [
        exchange(TASK_EXCHANGE, 'direct'),
        exchange(DEAD_LETTER_EXCHANGE, 'direct'),
        exchange(CONTROL_EXCHANGE, 'fanout'),
      ],
      queues: [],
      bindings: [],
    },
    delayTopology(),
    ...workQueues.map((spec) =>
      spec.ordered ? orderedLaneTopology(spec, spec.ordered) : workQueueTopology(spec),
    ),
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
