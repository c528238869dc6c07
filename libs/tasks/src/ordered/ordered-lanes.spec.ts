import { buildTask } from '../client/task-message-factory';
import {
  buildTopology,
  DELAY_DELIVER_EXCHANGE,
  ORDER_KEY_HEADER,
  TASK_EXCHANGE,
  type WorkQueueSpec,
} from '../topology';
import { assertHandlersAgree, OrderedLanes, orderKeyHeader } from './ordered-lanes';

const LANE: WorkQueueSpec = {
  name: 'fees',
  ordered: { shards: 3, tasks: { 'ledger.post_fee': 'merchant_id' } },
};

describe('ordered lanes', () => {
  const lanes = new OrderedLanes([{ name: 'ledger' }, LANE]);

  it('knows each ordered task, its field and its lane, and the lane shards', () => {
    expect(lanes.routeOf('ledger.post_fee')).toEqual({ lane: 'fees', field: 'merchant_id' });
    expect(lanes.routeOf('ledger.create_transfers')).toBeUndefined();
    expect(lanes.shardsOf('fees')).toEqual(['fees.shard.0', 'fees.shard.1', 'fees.shard.2']);
    expect(lanes.shardsOf('ledger')).toBeUndefined();
  });

  it('refuses a task declared ordered twice, differently', () => {
    const other = { name: 'other', ordered: { shards: 1, tasks: { 'ledger.post_fee': 'id' } } };
    expect(() => new OrderedLanes([LANE, other])).toThrow(/declared twice/);
  });

  it('routes an ordered task to its lane with its key in a header', () => {
    const routed = buildTask('ledger.post_fee', { merchant_id: 'mer_1' }, {}, lanes);
    expect(routed).toMatchObject({ queue: 'fees', exchange: TASK_EXCHANGE, routingKey: 'fees' });
    expect(routed.encoded.properties.headers).toMatchObject({
      task: 'ledger.post_fee',
      [ORDER_KEY_HEADER]: 'mer_1',
    });
    const delayed = buildTask('ledger.post_fee', { merchant_id: 7 }, { countdownMs: 500 }, lanes);
    expect(delayed.routingKey.endsWith('.fees')).toBe(true);
    expect(delayed.encoded.properties.headers).toMatchObject({ [ORDER_KEY_HEADER]: '7' });
    const plain = buildTask('ledger.create_transfers', {}, {}, lanes);
    expect(plain.encoded.properties.headers).not.toHaveProperty(ORDER_KEY_HEADER);
  });

  it('refuses an ordered task without its key, or sent to another queue', () => {
    expect(() => buildTask('ledger.post_fee', {}, {}, lanes)).toThrow(/merchant_id/);
    expect(() => orderKeyHeader('t', { lane: 'l', field: 'k' }, { k: { nested: 1 } })).toThrow(
      TypeError,
    );
    expect(() => orderKeyHeader('t', { lane: 'l', field: 'k' }, { k: 'x'.repeat(257) })).toThrow(
      /1 to 256/,
    );
    expect(() =>
      buildTask('ledger.post_fee', { merchant_id: 'm' }, { queue: 'ledger' }, lanes),
    ).toThrow(/its lane fees/);
  });

  it('checks at boot that handlers and lanes agree', () => {
    expect(() =>
      assertHandlersAgree([['ledger.post_fee', { orderedBy: 'merchant_id' }]], lanes),
    ).not.toThrow();
    expect(() => assertHandlersAgree([['ledger.post_fee', {}]], lanes)).toThrow(/add orderedBy/);
    expect(() => assertHandlersAgree([['ledger.post_fee', { orderedBy: 'id' }]], lanes)).toThrow(
      /says merchant_id/,
    );
    expect(() => assertHandlersAgree([['ledger.other', { orderedBy: 'id' }]], lanes)).toThrow(
      /no ordered lane/,
    );
    expect(() =>
      assertHandlersAgree(
        [['ledger.post_fee', { orderedBy: 'merchant_id', batch: { sizeMax: 10 } }]],
        lanes,
      ),
    ).toThrow(/batch/);
  });
});

describe('ordered lane topology', () => {
  const topology = buildTopology([LANE]);

  it('is a consistent-hash exchange on the order key header over single-active-consumer shards', () => {
    expect(topology.exchanges).toContainEqual(
      expect.objectContaining({
        name: 'clearline.ordered.fees',
        type: 'x-consistent-hash',
        arguments: { 'hash-header': ORDER_KEY_HEADER },
      }),
    );
    const shards = topology.queues.filter((q) => q.name.startsWith('fees.shard.'));
    expect(shards).toHaveLength(3);
    for (const shard of shards) {
      expect(shard.arguments).toMatchObject({
        'x-queue-type': 'quorum',
        'x-single-active-consumer': true,
        'x-dead-letter-routing-key': 'fees',
      });
    }
    expect(topology.queues.map((q) => q.name)).toContain('fees.dead');
    expect(topology.queues.map((q) => q.name)).not.toContain('fees');
  });

  it('is fed by the task exchange and the delay levels, and feeds every shard', () => {
    const into = (destination: string) =>
      topology.bindings.filter((b) => b.destination === destination).map((b) => b.source);
    expect(into('clearline.ordered.fees')).toEqual([TASK_EXCHANGE, DELAY_DELIVER_EXCHANGE]);
    expect(into('fees.shard.1')).toContain('clearline.ordered.fees');
  });

  it('refuses a shard count out of bounds', () => {
    expect(() => buildTopology([{ name: 'x', ordered: { shards: 0, tasks: {} } }])).toThrow();
    expect(() => buildTopology([{ name: 'x', ordered: { shards: 65, tasks: {} } }])).toThrow();
  });
});
