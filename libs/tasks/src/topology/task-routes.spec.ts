import { assertHandlersRouted, firstSegment, TaskRoutes, TASK_LANE_DEFAULT } from './task-routes';

describe('TaskRoutes', () => {
  const routes = new TaskRoutes([
    { name: 'gateway', lane: 'realtime' },
    { name: 'gateway.webhooks', lane: 'webhooks', tasks: ['gateway.deliver_webhook'] },
    { name: 'orders', ordered: { shards: 2, tasks: { 'orders.apply': 'key' } } },
  ]);

  it('routes a listed task to its queue, any other by its first segment', () => {
    expect(routes.queueOf('gateway.deliver_webhook')).toBe('gateway.webhooks');
    expect(routes.routeOf('gateway.deliver_webhook')).toBe('gateway.webhooks');
    expect(routes.queueOf('gateway.authorize_payment')).toBe('gateway');
    expect(routes.routeOf('gateway.authorize_payment')).toBeUndefined();
    expect(firstSegment('ledger.create_transfers')).toBe('ledger');
    expect(firstSegment('ping')).toBe('ping');
  });

  it('knows the lane of each queue and shard; a queue that names none is realtime', () => {
    expect(routes.laneOf('gateway.webhooks')).toBe('webhooks');
    expect(routes.laneOf('gateway')).toBe('realtime');
    expect(routes.laneOf('orders.shard.1')).toBe(TASK_LANE_DEFAULT);
    expect(routes.lanes).toEqual(['realtime', 'webhooks']);
  });

  it('refuses a task routed to two queues', () => {
    expect(() =>
      routes.add([{ name: 'gateway.batch', tasks: ['gateway.deliver_webhook'] }]),
    ).toThrow(/gateway.deliver_webhook is routed to two queues/);
  });

  it('refuses a handler whose queue is not its route, accepts one that names its route', () => {
    expect(() =>
      assertHandlersRouted([['gateway.deliver_webhook', { queue: 'gateway' }]], routes),
    ).toThrow(/gateway.deliver_webhook names queue gateway, its route .* is gateway.webhooks/);
    expect(() =>
      assertHandlersRouted(
        [
          ['gateway.deliver_webhook', { queue: 'gateway.webhooks' }],
          ['gateway.deliver_webhook', {}],
          ['gateway.custom', { queue: 'elsewhere' }],
        ],
        routes,
      ),
    ).not.toThrow();
  });
});
