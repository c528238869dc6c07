import fc from 'fast-check';
import {
  buildTopology,
  DELAY_DELIVER_EXCHANGE,
  DELAY_LEVELS,
  DELAY_MAX_MS,
  delayRoute,
  type Topology,
} from './topology';

/** AMQP topic matching: `*` is one word, `#` zero or more. */
function topicMatches(pattern: string, key: string): boolean {
  const p = pattern.split('.');
  const k = key.split('.');
  const match = (i: number, j: number): boolean => {
    if (i === p.length) return j === k.length;
    if (p[i] === '#') return match(i + 1, j) || (j < k.length && match(i, j + 1));
    return j < k.length && (p[i] === '*' || p[i] === k[j]) && match(i + 1, j + 1);
  };
  return match(0, 0);
}

/**
 * Follows a delayed message through the exchanges and delay queues the way the broker
 * would (queue TTL expiry dead-letters to the queue's exchange with the same key) and
 * returns the total time spent in delay queues and the queue it ends in.
 */
function simulate(
  topology: Topology,
  exchange: string,
  key: string,
): { delayMs: number; queue: string } {
  let delayMs = 0;
  let current = exchange;
  for (let hops = 0; hops < 200; hops += 1) {
    const bindings = topology.bindings.filter(
      (b) => b.source === current && topicMatches(b.routingKey, key),
    );
    expect(bindings).toHaveLength(1);
    const binding = bindings[0]!;
    if (binding.destinationType === 'exchange') {
      current = binding.destination;
      continue;
    }
    const queue = topology.queues.find((q) => q.name === binding.destination)!;
    const ttl = queue.arguments['x-message-ttl'];
    if (typeof ttl !== 'number') return { delayMs, queue: queue.name };
    delayMs += ttl;
    current = queue.arguments['x-dead-letter-exchange'] as string;
  }
  throw new Error('routing loop');
}

describe('delay topology', () => {
  const topology = buildTopology([{ name: 'ledger' }, { name: 'refund.shard.3' }]);

  it('delays a message by exactly the requested milliseconds and delivers it to its queue', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: DELAY_MAX_MS }),
        fc.constantFrom('ledger', 'refund.shard.3'),
        (ms, queue) => {
          const route = delayRoute(queue, ms);
          expect(simulate(topology, route.exchange, route.routingKey)).toEqual({
            delayMs: ms,
            queue,
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('clamps delays beyond the last level (the worker re-delays what arrives early)', () => {
    const route = delayRoute('ledger', DELAY_MAX_MS * 3);
    expect(simulate(topology, route.exchange, route.routingKey).delayMs).toBe(DELAY_MAX_MS);
  });

  it('declares one quorum delay queue per level, dead-lettering at-least-once', () => {
    const delayQueues = topology.queues.filter((q) => q.name.startsWith('clearline.delay.'));
    expect(delayQueues).toHaveLength(DELAY_LEVELS);
    for (const queue of delayQueues) {
      expect(queue.arguments).toMatchObject({
        'x-queue-type': 'quorum',
        'x-dead-letter-strategy': 'at-least-once',
        'x-overflow': 'reject-publish',
      });
    }
    expect(topology.exchanges.map((e) => e.name)).toContain(DELAY_DELIVER_EXCHANGE);
  });

  it('gives each work queue a delivery limit and a dead-letter queue', () => {
    const ledger = topology.queues.find((q) => q.name === 'ledger')!;
    expect(ledger.arguments).toMatchObject({
      'x-queue-type': 'quorum',
      'x-delivery-limit': 5,
      'x-dead-letter-exchange': 'clearline.dead',
      'x-dead-letter-routing-key': 'ledger',
      'x-dead-letter-strategy': 'at-least-once',
    });
    expect(topology.queues.map((q) => q.name)).toContain('ledger.dead');
  });
});
